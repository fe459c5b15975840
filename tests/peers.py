"""Clients we did not write, and raw sockets: the peers of protocol tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pydicom

VT, FS_CR = b"\x0b", b"\x1c\x0d"


def mllp_frame(message: bytes | str) -> bytes:
    if isinstance(message, str):
        message = message.encode("ascii")
    return VT + message + FS_CR


class MllpClient:
    """Raw MLLP over a TCP socket, with a timeout on every read."""

    def __init__(self, port: int, timeout: float = 10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = b""

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_ack(self) -> bytes:
        while FS_CR not in self._buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("listener closed the connection without an ACK")
            self._buffer += chunk
        frame, self._buffer = self._buffer.split(FS_CR, 1)
        assert frame.startswith(VT), frame
        return frame[1:]

    def exchange(self, message: bytes | str) -> bytes:
        self.send_raw(mllp_frame(message))
        return self.read_ack()

    def is_closed_by_peer(self) -> bool:
        try:
            return self.sock.recv(1) == b""
        except (TimeoutError, ConnectionResetError):
            return False

    def close(self) -> None:
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def ack_segments(ack: bytes, encoding: str = "ascii") -> dict[str, list[str]]:
    """Segments of an ACK by name: {'MSA': ['MSA', 'AA', 'ctrl'], ...} (first of each)."""
    segments = {}
    for line in ack.decode(encoding).split("\r"):
        if line:
            fields = line.split("|")
            segments.setdefault(fields[0], fields)
    return segments


def findscu(
    port: int, keys: list[str], *, calling_ae: str = "FINDSCU", called_ae: str = "RIS", extra: list[str] | None = None
) -> tuple[list[pydicom.Dataset], subprocess.CompletedProcess]:
    """Run dcmtk's `findscu -W`; returns the responses it wrote (-X) and the process."""
    exe = shutil.which("findscu")
    assert exe, "dcmtk's findscu is required (apt-get install dcmtk)"
    out = Path(tempfile.mkdtemp(prefix="findscu-"))
    args = [exe, "-W", "-aet", calling_ae, "-aec", called_ae, "-X", "-od", str(out)]
    for key in keys:
        args += ["-k", key]
    args += (extra or []) + ["127.0.0.1", str(port)]
    env = dict(os.environ, TCP_NODELAY="1")
    proc = subprocess.run(args, capture_output=True, text=True, timeout=60, env=env)
    responses = [pydicom.dcmread(p) for p in sorted(out.glob("rsp*.dcm"))]
    shutil.rmtree(out, ignore_errors=True)
    return responses, proc
