"""Encode texts with a HF ``tokenizer.json`` at many times the speed of ``tokenizers``, same ids.

``gigatoken`` (PyPI, Rust) loads the same ``tokenizer.json`` and reproduces HF ``tokenizers``'
ids (its compatibility promise; checked here on a probe set at load, and on the whole benchmark
text by tests/bench/test_tokenize_bench.py: ~20x the MB/s per core of ``Tokenizer.encode_batch`` on
the sample corpus). When gigatoken is missing, cannot load the file, or disagrees on the probe,
``tokenizers`` itself encodes — the exact fallback — and :func:`backend` says which one ran.
``LMSCI_ENCODER=tokenizers`` forces the fallback (to compare, or to rule the fast path out).

Both run on the calling thread (``parallel=False`` for gigatoken): one Snakemake job holds one core.
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Callable

from tokenizers import Tokenizer

Encoder = Callable[[list[str]], list[list[int]]]

# Byte-level BPE edge cases: the special token inside text, whitespace runs, CRLF, contractions
# (GPT-2's pre-tokenizer regex), digits, non-Latin scripts, emoji, zero-width space, empty text.
PROBE = ["", " ", "a<|endoftext|>b", "<|endoftext|>", "héllo  wörld\n\n\t x", "日本語のテキスト 😀 \u200b",
         "  \r\n  ", "I'm can't we'll 'S 'll", "1234567890 3.14 -0x1F", "def f(x):\n    return x  # ok\n",
         "Ελληνικά, русский, العربية, हिन्दी.", "x" * 3000]


def _hf(tok: Tokenizer) -> Encoder:
    return lambda texts: [e.ids for e in tok.encode_batch(texts)]


@lru_cache(maxsize=8)
def _load(path: str, mtime_ns: int) -> tuple[str, Encoder, str]:
    """(backend name, encoder, why) for the tokenizer at ``path`` as of ``mtime_ns``."""
    hf = Tokenizer.from_file(path)
    if os.environ.get("LMSCI_ENCODER", "") == "tokenizers":
        return "tokenizers", _hf(hf), "LMSCI_ENCODER=tokenizers"
    try:
        import gigatoken

        gt = gigatoken.Tokenizer(path)
        fast: Encoder = lambda texts: gt.encode_batch_list(texts, parallel=False)  # noqa: E731
        agrees = fast(PROBE) == _hf(hf)(PROBE)
    # Any failure of the optional fast path (missing wheel, a tokenizer.json it does not support, a
    # Rust panic) only means the exact encoder runs; nothing is dropped or changed.
    except Exception as err:  # noqa: BLE001
        return "tokenizers", _hf(hf), f"gigatoken unusable: {type(err).__name__}: {err}"[:300]
    if not agrees:
        return "tokenizers", _hf(hf), "gigatoken ids differ from tokenizers on the probe texts"
    return "gigatoken", fast, "ids identical to tokenizers on the probe texts"


def _key(tok_path: str | Path) -> tuple[str, int]:
    p = Path(tok_path)
    if not p.is_file():
        raise FileNotFoundError(f"tokenizer file {p} does not exist (train it first: snakemake train_tokenizer)")
    return str(p.resolve()), p.stat().st_mtime_ns


def encode_batch(tok_path: str | Path, texts: list[str]) -> list[list[int]]:
    """Token ids of each text, as ``Tokenizer.from_file(tok_path).encode_batch(texts)`` gives them."""
    return _load(*_key(tok_path))[1](list(texts))


def backend(tok_path: str | Path) -> dict:
    """Which encoder :func:`encode_batch` uses for this tokenizer, and why (for stats and the report)."""
    name, _, why = _load(*_key(tok_path))
    return {"encoder": name, "why": why}
