"""lmsci.tokenize.fast: the fast encoder gives exactly the ids of HF tokenizers, or falls back to it."""
from __future__ import annotations

import inspect
import json

import pytest
from tokenizers import Tokenizer

from lmsci import config as C
from lmsci.tokenize import bpe, fast

# Real text: the standard library's own sources and docstrings (code, prose, punctuation, unicode).
TEXTS = [inspect.getsource(m) for m in (json, inspect, pytest)] + [m.__doc__ or "" for m in (json, inspect)]


@pytest.fixture(scope="module")
def tok_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    bpe.save(bpe.train(TEXTS, C.TokenizerConfig(vocab_size=600)), path)
    return path


def test_ids_identical_to_tokenizers(tok_path):
    texts = TEXTS + fast.PROBE + ["a<|endoftext|>b " * 3, "\n".join(TEXTS)[:5000]]
    want = [e.ids for e in Tokenizer.from_file(str(tok_path)).encode_batch(texts)]
    assert fast.encode_batch(tok_path, texts) == want
    assert fast.backend(tok_path)["encoder"] == "gigatoken"


def test_forced_fallback_is_tokenizers_and_exact(tok_path, monkeypatch):
    monkeypatch.setenv("LMSCI_ENCODER", "tokenizers")
    fast._load.cache_clear()
    try:
        assert fast.backend(tok_path) == {"encoder": "tokenizers", "why": "LMSCI_ENCODER=tokenizers"}
        want = [e.ids for e in Tokenizer.from_file(str(tok_path)).encode_batch(TEXTS)]
        assert fast.encode_batch(tok_path, TEXTS) == want
    finally:
        fast._load.cache_clear()


def test_unloadable_by_gigatoken_falls_back(tmp_path):
    # A WordLevel tokenizer: not BPE, so gigatoken cannot load it; tokenizers still encodes it.
    from tokenizers import models, pre_tokenizers
    tok = Tokenizer(models.WordLevel({"a": 0, "b": 1, "[UNK]": 2}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(str(tmp_path / "t.json"))
    assert fast.encode_batch(tmp_path / "t.json", ["a b c"]) == [[0, 1, 2]]
    assert fast.backend(tmp_path / "t.json")["encoder"] == "tokenizers"


def test_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.json"):
        fast.encode_batch(tmp_path / "nope.json", ["x"])
