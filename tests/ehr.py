"""A stand-in EHR: a real MLLP listener on 127.0.0.1 that records what it is
sent and answers each message with an ACK of the code it is told to give."""

from __future__ import annotations

import socketserver
import threading

START, END = b"\x0b", b"\x1c\x0d"


class _Handler(socketserver.BaseRequestHandler):
    def handle(self):
        buffer = b""
        while True:
            data = self.request.recv(65536)
            if not data:
                return
            buffer += data
            while END in buffer:
                frame, buffer = buffer.split(END, 1)
                message = frame[frame.find(START) + 1 :].decode("utf-8")
                self.server.ehr.received.append(message)
                self.request.sendall(START + self.server.ehr.ack_for(message).encode() + END)


class FakeEhr:
    def __init__(self, ack_code: str = "AA"):
        self.ack_code = ack_code
        self.received: list[str] = []
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.ehr = self
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def ack_for(self, message: str) -> str:
        msh = message.split("\r")[0].split("|")
        control_id = msh[9] if len(msh) > 9 else ""
        return f"MSH|^~\\&|EHR|HOSP|RIS|RAD|20261126||ACK|A{control_id}|P|2.5.1\rMSA|{self.ack_code}|{control_id}\r"

    def control_ids(self) -> list[str]:
        return [m.split("\r")[0].split("|")[9] for m in self.received]

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
