"""An EHR's MLLP listener that refuses what a strict receiver refuses.

It frames as real receivers do: a start byte (0x0B) starts the frame over,
and the frame ends at the first 0x1C, which must be followed by CR. What
is framed must be a message hl7apy reads strictly (a parser we did not
write), with no control character but the segment ends; anything else is
answered AR, and the refusal is kept, so a test sees what reached it."""

from __future__ import annotations

import re
import socketserver
import threading

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

START, FS, CR = 0x0B, 0x1C, 0x0D
_CONTROL = re.compile(r"[\x00-\x0c\x0e-\x1f\x7f]")


class _Handler(socketserver.BaseRequestHandler):
    def handle(self):
        frame: bytearray | None = None
        closing = False
        while True:
            data = self.request.recv(65536)
            if not data:
                return
            for byte in data:
                if closing:
                    closing = False
                    self._answer(bytes(frame or b""), complete=byte == CR)
                    frame = None
                elif byte == START:
                    if frame:
                        self.server.ehr.refused.append(("frame restarted", bytes(frame)))
                    frame = bytearray()
                elif byte == FS and frame is not None:
                    closing = True
                elif frame is not None:
                    frame.append(byte)

    def _answer(self, frame: bytes, *, complete: bool) -> None:
        ehr = self.server.ehr
        text = frame.decode("utf-8", errors="replace")
        problem = ehr.problem(text) if complete else "0x1C not followed by CR"
        control_id = _control_id(text)
        if problem:
            ehr.refused.append((problem, frame))
        else:
            ehr.received.append(text)
        code = "AR" if problem else "AA"
        ack = f"MSH|^~\\&|EHR|HOSP|RIS|RAD|20261126||ACK|A{control_id}|P|2.5.1\rMSA|{code}|{control_id}\r"
        self.request.sendall(bytes([START]) + ack.encode() + bytes([FS, CR]))


def _control_id(text: str) -> str:
    fields = text.split("\r", 1)[0].split("|")
    return fields[9] if text.startswith("MSH") and len(fields) > 9 else ""


class StrictEhr:
    def __init__(self):
        self.received: list[str] = []
        self.refused: list[tuple[str, bytes]] = []
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.ehr = self
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @staticmethod
    def problem(text: str) -> str:
        if not text.startswith("MSH"):
            return "no MSH at the start of the frame"
        if _CONTROL.search(text):
            return "a control character inside the message"
        try:
            parse_message(text, validation_level=VALIDATION_LEVEL.STRICT, find_groups=True)
        except Exception as exc:
            return f"hl7apy: {type(exc).__name__}: {exc}"
        return ""

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
