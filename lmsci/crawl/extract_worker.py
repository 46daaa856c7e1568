"""The extraction worker process of :mod:`lmsci.crawl.sandbox`: ``python -S -m lmsci.crawl.extract_worker
EXTRACTOR MAIN_CONTENT``.

Requests on stdin, each ``<u32 length><u8 charset length><charset><body bytes>`` (length counts
what follows it): the body is decoded with resiliparse's ``bytes_to_str`` in that charset (no
charset: UTF-8, lone surrogates kept), then extracted. Replies on stdout: ``<status byte><u32
length><UTF-8 payload>``, status ``r`` ready, ``o`` the text, ``e`` "ExceptionName\\nmessage".
Only what the worker needs is imported here (no subprocess, pathlib): it starts in ~20 ms, with
``-S`` (the parent passes its module search path), once per extraction run.
"""
from __future__ import annotations

import os
import struct
import sys

from resiliparse.parse.encoding import bytes_to_str

from lmsci.crawl.html2text import html_to_text

WARMUP = "<html><body><p>warm up</p><pre>x</pre></body></html>"
HEAD = struct.Struct("<cI")  # status byte (r: ready, o: text, e: error), payload length
LENGTH = struct.Struct("<I")


def read_exact(f, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = f.read(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def request(body: bytes, charset: str | None) -> bytes:
    """One page as a request (``charset`` None: ``body`` is UTF-8 that may hold lone surrogates)."""
    cs = (charset or "").encode("ascii")
    return LENGTH.pack(1 + len(cs) + len(body)) + bytes([len(cs)]) + cs + body


def _html(msg: bytes) -> str:
    k = msg[0]
    cs, body = msg[1:1 + k].decode("ascii"), msg[1 + k:]
    return bytes_to_str(body, cs) if cs else body.decode("utf-8", "surrogatepass")


def _send(f, status: bytes, payload: bytes) -> None:
    f.write(HEAD.pack(status, len(payload)) + payload)
    f.flush()


def serve(extractor: str, main_content: bool) -> None:
    """Requests on stdin → texts on stdout (everything else to stderr), until stdin closes."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print, from Python or C, cannot corrupt the replies
    src = sys.stdin.buffer
    html_to_text(WARMUP, extractor, main_content)
    _send(out, b"r", b"")
    while True:
        try:
            (n,) = LENGTH.unpack(read_exact(src, LENGTH.size))
            msg = read_exact(src, n)
        except EOFError:
            return
        try:
            _send(out, b"o", html_to_text(_html(msg), extractor, main_content).encode("utf-8", "surrogatepass"))
        except Exception as e:  # sent back and raised in the parent, which counts it
            _send(out, b"e", f"{type(e).__name__}\n{e}".encode("utf-8", "replace"))


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2] == "1")
