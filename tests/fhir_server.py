"""A stand-in FHIR server: a real HTTP listener on 127.0.0.1 that records
each request and answers a transaction with a transaction-response Bundle,
or with the failure it is told to give (an HTTP status, or silence)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        server: FakeFhirServer = self.server.fhir
        server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
        if server.answer == "silence":
            server.release.wait(10)
            return
        status, answer = server.respond(json.loads(body))
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


class FakeFhirServer:
    def __init__(self, answer: str | int = 200):
        self.answer = answer
        self.requests: list[dict] = []
        self.release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.fhir = self
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/fhir"

    def bundles(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.requests]

    def respond(self, bundle: dict) -> tuple[int, dict]:
        if self.answer != 200:
            return int(self.answer), {
                "resourceType": "OperationOutcome",
                "issue": [{"severity": "error", "code": "exception", "diagnostics": "server is unwell"}],
            }
        entries = [
            {"response": {"status": "201 Created", "location": f"{_type(e)}/{n}/_history/1"}}
            for n, e in enumerate(bundle.get("entry", []), 1)
        ]
        return 200, {"resourceType": "Bundle", "type": "transaction-response", "entry": entries}

    def stop(self):
        self.release.set()
        self._server.shutdown()
        self._server.server_close()


def _type(entry: dict) -> str:
    return entry["request"]["url"].split("?")[0]
