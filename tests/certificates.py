"""A self-signed certificate for 127.0.0.1, made with the openssl command,
for the tests of the TLS doors (MLLP, DICOM, the audit syslog)."""

import subprocess
from pathlib import Path


def self_signed(folder: Path, name: str = "server") -> tuple[str, str]:
    """Certificate and key files in `folder`, valid two days for IP 127.0.0.1."""
    cert, key = folder / f"{name}.pem", folder / f"{name}.key"
    request = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1"]
    subprocess.run(
        ["openssl", *request, "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)
