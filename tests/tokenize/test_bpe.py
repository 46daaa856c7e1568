"""lmsci/tokenize/bpe.py: deterministic byte-level BPE, EOD id 0, lossless round trip."""
from __future__ import annotations

import pytest

from lmsci.config import TokenizerConfig
from lmsci.tokenize import bpe

CORPUS = [
    "The river flows through the valley and feeds the farms that line its banks.",
    "In spring the water rises with melting snow from the mountains.",
    "Der Fluss fließt durch das Tal und versorgt die Höfe an seinen Ufern.",
    "def main():\n    return sum(x * x for x in range(10))\n",
    "東京は日本の首都です。",
] * 20
CFG = TokenizerConfig(vocab_size=400, min_frequency=2)


@pytest.fixture(scope="module")
def tok():
    return bpe.train(CORPUS, CFG)


def test_training_is_deterministic(tok, tmp_path):
    again = bpe.train(list(CORPUS), CFG)
    assert again.to_str() == tok.to_str()
    bpe.save(tok, tmp_path / "a.json")
    bpe.save(again, tmp_path / "b.json")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def test_eod_is_id_0_and_vocab_bounded(tok):
    assert bpe.eod_id(tok) == 0 == tok.token_to_id(bpe.EOD)
    assert 257 <= tok.get_vocab_size() <= CFG.vocab_size
    assert tok.get_vocab_size() > 257  # merges were learnt


@pytest.mark.parametrize("text", [
    CORPUS[0], CORPUS[3], "Unseen words: xylophone, Ω≈ç√, 🙂 and tabs\tand\nnewlines  ", "", " leading space",
])
def test_round_trip(tok, text):
    ids = tok.encode(text).ids
    assert 0 not in ids  # the EOD id never appears inside a document
    assert tok.decode(ids) == text


def test_save_load(tok, tmp_path):
    bpe.save(tok, tmp_path / "t" / "tokenizer.json")
    loaded = bpe.load(tmp_path / "t" / "tokenizer.json")
    assert loaded.to_str() == tok.to_str()
    assert loaded.encode(CORPUS[2]).ids == tok.encode(CORPUS[2]).ids


def test_sample_caps_chars_per_source_in_name_order():
    texts = {"wiki": ["wwww", "xxxx", "yyyy"], "code": ["cc", "ddddd", "ee"], "crawl": ["z"]}
    got = list(bpe.sample(texts, 5))
    assert got == ["cc", "ddd", "z", "wwww", "x"]
    assert list(bpe.sample({k: iter(v) for k, v in texts.items()}, 5)) == got  # iterables, read once
