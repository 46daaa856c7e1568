"""Config checks that read the disk: the language-ID labels, the run's output paths, the files a
config names (each source's shards peeked at for their ``kind``, word lists and benchmark texts
decoded whole), so a bad file fails before the first job with its name, not inside one."""
from __future__ import annotations

import codecs
import functools
import gzip
import importlib
import json
import zlib
from pathlib import Path, PurePosixPath

from lmsci.conf.base import fail, show

LID_LABELS = Path(__file__).with_name("lid176.txt")  # the 176 labels of fastText's lid.176 model, read once
PEEK_BYTES = 64 * 1024
# The checkout's own directories: a run's outputs never go among them (reports/<run>/ is the report's).
PROJECT_DIRS = frozenset({".git", ".dvc", ".snakemake", ".venv", "lmsci", "workflow", "configs", "data", "tests",
                          "scripts", "reports"})


@functools.cache
def lid_labels() -> tuple[str, ...]:
    return tuple(LID_LABELS.read_text(encoding="ascii").split())


def output_root(key: str, value: str, root: Path | None, *, absolute_ok: bool) -> None:
    """``results`` / ``run``: a relative path inside the project, or (``absolute_ok``) an absolute one
    given on purpose (a cluster scratch disk) — never empty, ``/``, ``..``, or containing the project."""
    if not value.strip():
        fail(key, "must not be empty; name a directory (e.g. results)")
    if any(not c.isprintable() for c in value) or any(c in value for c in "{}*?[]\\"):
        fail(key, f"{value.encode('unicode_escape').decode()!r}: use a plain path (no control characters, "
             "no {} * ? [] \\ — Snakemake reads braces as wildcards)")
    p = PurePosixPath(value)
    if ".." in p.parts:
        fail(key, f"{value!r} contains '..'; give a path inside the project, or an absolute path")
    if value.startswith("~"):
        fail(key, f"{value!r}: '~' is not expanded; write the absolute path")
    if p.is_absolute():
        if not absolute_ok:
            fail(key, f"{value!r} must be a relative name (reports/<run>/)")
        if p == PurePosixPath("/"):
            fail(key, "'/' is the whole filesystem; give a directory of this run")
        if root is not None:
            here = Path(root).resolve()
            there = Path(value).resolve()
            if there == here or there in here.parents:
                fail(key, f"{value!r} contains the project itself ({here}); give a directory inside it or elsewhere")
    elif p.parts in ((), (".",)):
        fail(key, f"{value!r} is the project itself; name a directory inside it (e.g. results)")
    elif key == "results" and p.parts[0] in PROJECT_DIRS:
        fail(key, f"{value!r} is among the project's own files ({p.parts[0]}/); name a new directory (e.g. results)")


def peek_kind(key: str, path: Path, kind: str) -> None:
    """A shard's first bytes agree with its source's ``kind`` (gzip or plain WARC; JSON lines)."""
    try:
        with open(path, "rb") as f:
            head = f.read(PEEK_BYTES)
    except OSError as e:
        fail(key, f"{show(path)}: cannot be read ({e.strerror})")
    if not head:
        return  # an empty shard holds no documents; the ledger counts 0
    if head[:2] == b"\x1f\x8b":
        try:
            head = zlib.decompressobj(wbits=31).decompress(head, 4096)
        except zlib.error:
            fail(key, f"{show(path)}: starts as gzip but does not decompress; re-download or fix the file")
    start = head.lstrip()[:8]
    looks = "warc" if start.startswith(b"WARC/") else "jsonl" if start.startswith(b"{") else None
    if looks != kind:
        seen = {"warc": "a WARC file", "jsonl": "JSON lines"}.get(looks, f"neither WARC nor JSON lines ({start!r})")
        fail(key, f"{show(path)} is {seen}, but the source's kind is {kind}; fix kind or the path")


def text_file(key: str, path: Path, *, jsonl: bool = False) -> None:
    """``path`` reads whole as UTF-8 (gunzipped if ``.gz``); ``jsonl``: each line an object with a "text"."""
    opener = gzip.open if path.name.endswith(".gz") else open
    decoder = codecs.getincrementaldecoder("utf-8")()
    line_no, pending = 0, ""
    try:
        with opener(path, "rb") as f:
            while chunk := f.read(1 << 20):
                text = pending + decoder.decode(chunk)
                *lines, pending = text.split("\n")
                for line in lines:
                    line_no += 1
                    _json_line(key, path, line_no, line) if jsonl else None
            pending += decoder.decode(b"", final=True)
            if jsonl and pending.strip():
                _json_line(key, path, line_no + 1, pending)
    except UnicodeDecodeError:
        fail(key, f"{show(path)}: not UTF-8 text (near line {line_no + 1}); convert it to UTF-8")
    except (OSError, EOFError, zlib.error) as e:
        fail(key, f"{show(path)}: cannot be read whole ({getattr(e, 'strerror', None) or e}); the file is damaged "
             "or truncated: fetch it again")


def _json_line(key: str, path: Path, line_no: int, line: str) -> None:
    if not line.strip():
        return
    try:
        ok = isinstance(json.loads(line).get("text"), str)
    except (ValueError, AttributeError):
        ok = False
    if not ok:
        fail(key, f"{show(path)}:{line_no}: expected a JSON object with a \"text\" string")


def remote_missing(url: str) -> str:
    """Why the remote shard ``url`` cannot be read ("" if it can): lmsci.crawl.remote's check.

    Imported by name on purpose: only the entry points (the Snakefile, ``lmsci run``) check files,
    no job does (jobs read config slices), so lmsci.closure must not count lmsci.crawl in the code
    version of every verb that imports lmsci.config (tests/test_closure.py holds train to that)."""
    return importlib.import_module("lmsci.crawl.remote").missing(url)
