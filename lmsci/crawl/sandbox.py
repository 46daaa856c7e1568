"""A per-document time limit for HTML extraction that holds for C code too.

``signal.setitimer`` cannot stop either extractor: resiliparse's Cython loop never returns to
the interpreter until it is done, and trafilatura catches ``Exception`` around its parsing
steps and spends most of a pathological page inside lxml (measured: a 5 MB page of ``<span>``
elements ran 69 s under a 0.3 s alarm). So, as datatrove's ``ExtractorSandbox`` does, pages are
extracted in one long-lived worker process; the parent waits ``timeout_s`` for each answer and,
past it, kills the worker (a fresh one is started for the next page) and reports a timeout.
The worker is started and warmed up before the first page, so start-up never counts against it,
and serves every page of an extraction run (``lmsci curate`` over many files starts one).
It is started with ``python -S`` and this process's module search path: no ``.pth`` file runs,
which halves its start-up (:mod:`lmsci.crawl.extract_worker`).
"""
from __future__ import annotations

import os
import select
import subprocess
import sys
from pathlib import Path

from lmsci.crawl.extract_worker import HEAD, read_exact, request

STARTUP_S = 120.0  # imports (trafilatura pulls in dateparser) on a loaded machine; not a page's time


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
        path = [root, *(p for p in sys.path if p and os.path.exists(p))]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(dict.fromkeys(path))}
        self.proc = subprocess.Popen([sys.executable, "-S", "-m", "lmsci.crawl.extract_worker", *self.args],
                                     env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
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
            status, n = HEAD.unpack(read_exact(self.proc.stdout, HEAD.size))
            payload = read_exact(self.proc.stdout, n).decode("utf-8", "surrogatepass")
        except EOFError:
            code = self.proc.poll()
            self.close()
            raise WorkerDied(f"extraction worker exited (code {code})") from None
        if status == b"e":
            raise ExtractError(*payload.split("\n", 1))
        return payload

    def extract(self, html: str) -> str:
        return self.extract_bytes(html.encode("utf-8", "surrogatepass"), None)

    def extract_bytes(self, body: bytes, charset: str | None) -> str:
        """The text of an HTTP body in ``charset`` (a Python codec name, :func:`lmsci.crawl.http.charset`),
        decoded in the worker as :func:`lmsci.crawl.http.decode` does."""
        if self.proc is None:
            self._start()
        try:
            view = memoryview(request(body, charset))
            while view:  # an unbuffered pipe may take a large page in parts
                view = view[self.proc.stdin.write(view):]
        except OSError:  # a broken pipe: the worker is gone
            self.close()
            raise WorkerDied("extraction worker exited") from None
        return self._reply(self.timeout_s, "page")
