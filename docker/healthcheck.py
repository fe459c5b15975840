"""Container health checks, standard library only.

    python docker/healthcheck.py http http://127.0.0.1:8000/health/ready
    python docker/healthcheck.py tcp 127.0.0.1 2575
Exit status 0 when healthy, 1 otherwise.
"""

import socket
import sys
import urllib.request


def check_http(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except Exception:
        return False


def check_tcp(host: str, port: str) -> bool:
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
        return True
    except OSError:
        return False


if __name__ == "__main__":
    kind, *args = sys.argv[1:]
    healthy = check_http(*args) if kind == "http" else check_tcp(*args)
    sys.exit(0 if healthy else 1)
