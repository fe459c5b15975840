"""MLLP framing (HL7 v2 transport, "MLLP release 1"): bytes in, frames out.

<VT> message <FS><CR>. Knows nothing of HL7 content or sockets.
"""

from __future__ import annotations

START = b"\x0b"
END = b"\x1c\x0d"


class FrameTooLarge(Exception):
    def __init__(self, head: bytes):
        super().__init__("MLLP frame exceeds the size limit")
        self.head = head  # the start of the frame, to address the refusal


class FrameDecoder:
    """Feed it what the socket gives; it yields each complete message.

    Bytes outside a frame are dropped (and counted). A start byte inside an
    unfinished frame abandons that frame: the sender started over.
    """

    def __init__(self, max_size: int):
        self.max_size = max_size
        self._buffer = bytearray()
        self._in_frame = False
        self.discarded = 0

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        frames = []
        while True:
            if not self._in_frame and not self._seek_start():
                break
            frame = self._take_frame()
            if frame is None:
                break
            frames.append(frame)
        return frames

    @property
    def pending(self) -> bool:
        return self._in_frame and bool(self._buffer)

    def _seek_start(self) -> bool:
        index = self._buffer.find(START)
        if index < 0:
            self.discarded += len(self._buffer)
            self._buffer.clear()
            return False
        self.discarded += index
        del self._buffer[: index + 1]
        self._in_frame = True
        return True

    def _take_frame(self) -> bytes | None:
        end = self._buffer.find(END)
        # A start byte before the end: the half frame before it was abandoned
        # by the sender. A loop, not recursion: a run of start bytes is any length.
        restart = self._buffer.rfind(START, 0, end if end >= 0 else len(self._buffer))
        if restart >= 0:
            self.discarded += restart
            del self._buffer[: restart + 1]
            end = self._buffer.find(END)
        if end < 0:
            if len(self._buffer) > self.max_size:
                head = bytes(self._buffer[:4096])
                self._buffer.clear()
                self._in_frame = False
                raise FrameTooLarge(head)
            return None
        frame = bytes(self._buffer[:end])
        del self._buffer[: end + len(END)]
        self._in_frame = False
        if len(frame) > self.max_size:
            raise FrameTooLarge(frame[:4096])
        return frame


def frame(message: bytes) -> bytes:
    return START + message + END
