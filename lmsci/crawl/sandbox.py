"""A per-document time limit for HTML extraction that holds for C code too.

``signal.setitimer`` cannot stop either extractor: resiliparse's Cython loop never returns to
the interpreter until it is done, and trafilatura catches ``Exception`` around its parsing
steps and spends most of a pathological page inside lxml (measured: a 5 MB page of ``<span>``
elements ran 69 s under a 0.3 s alarm). So, as datatrove's ``ExtractorSandbox`` does, pages are
extracted in one long-lived worker process; the parent waits ``timeout_s`` for each answer and,
past it, kills the worker (a fresh one is started for the next page) and reports a timeout.
The worker is started and warmed up before the first page, so start-up never counts against it.
"""
from __future__ import annotations

import os
import select
import struct
import subprocess
import sys
from pathlib import Path

from lmsci.crawl.html2text import html_to_text

STARTUP_S = 120.0  # imports (trafilatura pulls in dateparser) on a loaded machine; not a page's time
WARMUP = "<html><body><p>warm up</p><pre>x</pre></body></html>"
_HEAD = struct.Struct("<cI")  # status byte (r: ready, o: text, e: error), payload length


class ExtractTimeout(Exception):
    """The page took longer than ``extract.timeout_s``; the worker was killed."""


class ExtractError(RuntimeError):
    """The extractor raised in the worker; ``name`` is the exception's class name."""

    def __init__(self, name: str, msg: str):
        super().__init__(f"{name}: {msg}")
        self.name = name


class WorkerDied(RuntimeError):
    """The worker process exited while extracting (e.g. killed for memory): that page is counted."""


class WorkerStartFailed(Exception):
    """No worker could be started: the environment is broken, so the job fails instead of counting pages."""


def _read_exact(f, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = f.read(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def _send(f, status: bytes, payload: bytes) -> None:
    f.write(_HEAD.pack(status, len(payload)) + payload)
    f.flush()


def serve(extractor: str, main_content: bool) -> None:
    """The worker: length-prefixed UTF-8 pages on stdin → texts on stdout (everything else to stderr)."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print, from Python or C, cannot corrupt the replies
    src = sys.stdin.buffer
    html_to_text(WARMUP, extractor, main_content)
    _send(out, b"r", b"")
    while True:
        try:
            (n,) = struct.unpack("<I", _read_exact(src, 4))
            html = _read_exact(src, n).decode("utf-8", "surrogatepass")
        except EOFError:
            return
        try:
            _send(out, b"o", html_to_text(html, extractor, main_content).encode("utf-8", "surrogatepass"))
        except Exception as e:  # sent back and raised in the parent, which counts it
            _send(out, b"e", f"{type(e).__name__}\n{e}".encode("utf-8", "replace"))


class Sandbox:
    """``with Sandbox(extractor, main_content, timeout_s) as sb: text = sb.extract(html)``."""

    def __init__(self, extractor: str, main_content: bool, timeout_s: float):
        self.args, self.timeout_s = (extractor, str(int(main_content))), timeout_s
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker (a later :meth:`extract` starts a new one)."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc.stdin.close()
            self.proc.stdout.close()
            self.proc = None

    def _start(self) -> None:
        # a plain subprocess, not multiprocessing: spawn re-imports the caller's __main__
        root = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        self.proc = subprocess.Popen([sys.executable, "-m", "lmsci.crawl.sandbox", *self.args], env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
        try:
            self._reply(STARTUP_S, "start")
        except WorkerDied as e:
            raise WorkerStartFailed(f"{e}; its error output is in this job's log") from None

    def _reply(self, timeout: float, what: str) -> str:
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            self.close()
            if what == "start":
                raise WorkerDied(f"extraction worker did not start within {timeout:g} s")
            raise ExtractTimeout(f"page not extracted within {timeout:g} s")
        try:
            status, n = _HEAD.unpack(_read_exact(self.proc.stdout, _HEAD.size))
            payload = _read_exact(self.proc.stdout, n).decode("utf-8", "surrogatepass")
        except EOFError:
            code = self.proc.poll()
            self.close()
            raise WorkerDied(f"extraction worker exited (code {code})") from None
        if status == b"e":
            raise ExtractError(*payload.split("\n", 1))
        return payload

    def extract(self, html: str) -> str:
        if self.proc is None:
            self._start()
        data = html.encode("utf-8", "surrogatepass")
        try:
            view = memoryview(struct.pack("<I", len(data)) + data)
            while view:  # an unbuffered pipe may take a large page in parts
                view = view[self.proc.stdin.write(view):]
        except OSError:  # a broken pipe: the worker is gone
            self.close()
            raise WorkerDied("extraction worker exited") from None
        return self._reply(self.timeout_s, "page")


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2] == "1")
