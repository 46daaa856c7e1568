"""Shard paths that are fsspec URLs (``s3://``, ``gs://``, ``https://``), read as streams with retries.

A local path is opened with ``open``; a URL with fsspec (s3fs, gcsfs, or fsspec's HTTP filesystem,
whichever the scheme names), with credentials and endpoints from the environment as each library
documents (e.g. ``AWS_ENDPOINT_URL`` for an S3-compatible store). A read that fails with a network
error is retried from the same byte after reopening the file — ``RETRIES`` times, waiting
``BACKOFF_S × 2^i`` — so one dropped connection does not lose a shard of a long crawl.
"""
from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Callable

RETRIES = 5
BACKOFF_S = 0.5


def is_url(path: str | Path) -> bool:
    s = str(path)
    return "://" in s and not s.startswith("file://")


def _errors() -> tuple[type[BaseException], ...]:
    errors: tuple[type[BaseException], ...] = (OSError, TimeoutError)
    try:
        import aiohttp
        errors += (aiohttp.ClientError,)
    except ImportError:  # pragma: no cover - aiohttp comes with fsspec[http]
        pass
    return errors


class RetryingReader(io.RawIOBase):
    """A seekable binary stream over ``opener()`` that reopens and seeks back when a read fails."""

    def __init__(self, opener: Callable[[], io.IOBase], name: str, size: int, retries: int = RETRIES,
                 backoff_s: float | None = None):
        self._opener, self.name, self.size = opener, name, size
        self._retries, self._pos = retries, 0
        self._backoff = BACKOFF_S if backoff_s is None else backoff_s
        self._f = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, pos: int, whence: int = 0) -> int:
        self._pos = {0: pos, 1: self._pos + pos, 2: self.size + pos}[whence]
        return self._pos

    def read(self, n: int = -1) -> bytes:
        n = self.size - self._pos if n is None or n < 0 else min(n, max(self.size - self._pos, 0))
        for attempt in range(self._retries + 1):
            try:
                if self._f is None:
                    self._f = self._opener()
                self._f.seek(self._pos)
                data = self._f.read(n)
                self._pos += len(data)
                return data
            except _errors() as e:
                if attempt == self._retries:
                    raise OSError(f"{self.name}: read at byte {self._pos} failed {attempt + 1} times ({e})") from None
                time.sleep(self._backoff * 2 ** attempt)
                self._drop()
        raise AssertionError("unreachable")

    def _drop(self) -> None:
        """Forget the (broken) connection; the next read reopens."""
        f, self._f = self._f, None
        if f is not None:
            try:
                f.close()
            except _errors():
                pass  # a connection that failed may fail to close too; it is abandoned either way

    def readinto(self, b) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._drop()
        super().close()


def open_input(path: str | Path) -> io.IOBase:
    """A seekable binary stream of a local file or a URL (the caller closes it)."""
    if not is_url(path):
        return open(path, "rb")
    import fsspec
    fs, p = fsspec.core.url_to_fs(str(path))
    return io.BufferedReader(RetryingReader(lambda: fs.open(p, "rb"), str(path), fs.size(p)), 1 << 20)


def size(path: str | Path) -> int:
    if not is_url(path):
        return Path(path).stat().st_size
    import fsspec
    fs, p = fsspec.core.url_to_fs(str(path))
    return fs.size(p)


def missing(path: str) -> str:
    """Why the URL ``path`` cannot be read (one line), or "" when it exists (config validation)."""
    try:
        import fsspec
        fs, p = fsspec.core.url_to_fs(path)
    except (ImportError, ValueError) as e:
        return f"no filesystem for {path} ({e}); install the fsspec backend for its scheme (s3fs, gcsfs)"
    try:
        return "" if fs.isfile(p) else f"{path} does not exist (or is not a file)"
    except Exception as e:  # noqa: BLE001 - each backend has its own errors (botocore's NoCredentialsError is no
        # OSError); whichever it is, it becomes the one-line config error naming the URL, not a traceback
        return f"{path} cannot be reached ({type(e).__name__}: {e})"
