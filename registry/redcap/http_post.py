"""One HTTP POST with hard limits: a deadline for the whole request, a size limit on the answer
(streamed to a file, never held whole in memory), and no redirects.

``urllib`` applies its timeout to each socket read (a server sending a byte a second never
times out), reads answers whole, and follows redirects to any host. :func:`post` does none of
that; :class:`TransportError` says which limit was hit, for the caller to word.
"""

from __future__ import annotations

import http.client
import ssl
import time
from typing import BinaryIO
from urllib.parse import urlsplit

CHUNK = 1 << 16


class TransportError(Exception):
    """A limit was hit: ``kind`` is ``deadline``, ``too_large``, ``redirect`` (``location`` set), or
    ``unreachable`` (no connection could be made; ``location`` holds the reason)."""

    def __init__(self, kind: str, location: str | None = None):
        self.kind = kind
        self.location = location
        super().__init__(kind if location is None else f"{kind} to {location}")


def post(url: str, body: bytes, headers: dict[str, str], dest: BinaryIO, *, timeout: float,
         max_bytes: int) -> int:
    """POST ``body`` to ``url`` and stream the answer's body into ``dest``; return the HTTP status.

    The whole request (connect, send, every read) must end within ``timeout`` seconds, and the
    answer must not exceed ``max_bytes``. A 3xx answer is never followed.

    Raises
    ------
    TransportError
        The deadline passed, the answer is too large, or the server redirected.
    OSError, http.client.HTTPException
        The connection failed or was dropped.
    """
    deadline = time.monotonic() + timeout
    parts = urlsplit(url)
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=_left(deadline),
                                           context=ssl.create_default_context())
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=_left(deadline))
    try:
        try:
            conn.connect()
        except TimeoutError:
            raise
        except OSError as exc:
            raise TransportError("unreachable", str(exc)) from None
        sock = conn.sock
        sock.settimeout(_left(deadline))
        conn.request("POST", parts.path or "/", body=body, headers=headers)
        sock.settimeout(_left(deadline))
        response = conn.getresponse()
        if 300 <= response.status < 400:
            raise TransportError("redirect", response.getheader("Location") or "(no Location header)")
        length = response.getheader("Content-Length") or ""
        if length.isdigit() and int(length) > max_bytes:
            raise TransportError("too_large")
        total = 0
        while True:
            sock.settimeout(_left(deadline))
            chunk = response.read1(CHUNK)
            if not chunk:
                break
            total += len(chunk)
            if total > max_bytes:
                raise TransportError("too_large")
            dest.write(chunk)
        if length.isdigit() and total < int(length):  # the server hung up before the end
            raise http.client.IncompleteRead(b"", int(length) - total)
        return response.status
    except TimeoutError:  # socket.timeout
        raise TransportError("deadline") from None
    finally:
        conn.close()


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TransportError("deadline")
    return left
