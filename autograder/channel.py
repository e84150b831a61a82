"""Length-prefixed JSON frames over a file descriptor: the only way the grader's processes talk.

A frame is a 4-byte big-endian length and that many bytes of UTF-8 JSON. Every read has a size
limit and may have a deadline, so a peer that sends too much or nothing at all is detected
instead of filling memory or hanging the reader. Used on both sides of the sandbox: this module
imports nothing but the standard library.
"""

from __future__ import annotations

import json
import os
import select
import socket
import struct
import time

HEADER = struct.Struct(">I")


class FrameError(ValueError):
    """A frame that is too big or is not JSON: the peer broke the protocol."""


def encode(obj) -> bytes:
    data = json.dumps(obj, ensure_ascii=False, default=str).encode("utf-8", "replace")
    return HEADER.pack(len(data)) + data


def send(fd: int, obj) -> None:
    view = memoryview(encode(obj))
    while view:
        n = os.write(fd, view)
        view = view[n:]


def send_with_fds(sock: socket.socket, obj, fds: list[int]) -> None:
    """One frame, with file descriptors attached to its first byte (SCM_RIGHTS)."""
    data = encode(obj)
    sent = socket.send_fds(sock, [data], fds)
    if sent < len(data):
        sock.sendall(data[sent:])


def _wait(fd: int, deadline: float | None) -> None:
    if deadline is None:
        return
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    ready, _, _ = select.select([fd], [], [], left)
    if not ready:
        raise TimeoutError


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        _wait(fd, deadline)
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def recv(fd: int, deadline: float | None = None, limit: int = 1 << 20):
    """The next frame's object; None at end of file. TimeoutError past the deadline, FrameError
    for a frame over ``limit`` bytes or one that is not JSON (its bytes are never read)."""
    return recv_counted(fd, deadline, limit)[0]


def recv_counted(fd: int, deadline: float | None = None, limit: int = 1 << 20):
    """``recv``, and the frame's size in bytes: (object or None, size)."""
    head = _read_exact(fd, HEADER.size, deadline)
    if head is None:
        return None, 0
    (n,) = HEADER.unpack(head)
    if n > limit:
        raise FrameError(f"a frame of {n} bytes is over the limit of {max(limit, 0)}")
    data = _read_exact(fd, n, deadline)
    if data is None:
        return None, 0
    try:
        return json.loads(data), HEADER.size + n
    except ValueError as exc:
        raise FrameError(f"a frame that is not JSON ({exc})") from None


def recv_with_fds(sock: socket.socket, limit: int = 1 << 20, max_fds: int = 1):
    """A frame sent by ``send_with_fds``: (object or None at end of file, [fds])."""
    head, fds, _, _ = socket.recv_fds(sock, HEADER.size, max_fds)
    if not head:
        return None, fds
    while len(head) < HEADER.size:
        more = sock.recv(HEADER.size - len(head))
        if not more:
            return None, fds
        head += more
    (n,) = HEADER.unpack(head)
    if n > limit:
        for fd in fds:
            os.close(fd)
        raise FrameError(f"a frame of {n} bytes is over the limit of {limit}")
    data = _read_exact(sock.fileno(), n, None)
    if data is None:
        return None, fds
    try:
        return json.loads(data), fds
    except ValueError as exc:
        for fd in fds:
            os.close(fd)
        raise FrameError(f"a frame that is not JSON ({exc})") from None
