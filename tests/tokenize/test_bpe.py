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


def _shards(docs: list[tuple[str, str]], n: int) -> list[tuple[list[str], list[str]]]:
    return [([i for i, _ in docs[k::n]], [t for _, t in docs[k::n]]) for k in range(n)]


def test_sample_takes_the_lowest_ranked_documents_up_to_the_cap_per_source():
    wiki = [(f"wiki/w/{k:012d}", chr(97 + k) * (3 + k)) for k in range(10)]
    code = [(f"code/c/{k:012d}", str(k) * 4) for k in range(5)]
    got = list(bpe.sample({"wiki": _shards(wiki, 1), "code": _shards(code, 1)}, 12, seed=5))
    by_rank = sorted(wiki, key=lambda d: bpe.rank(5, d[0]))
    want, budget = {}, 12
    for i, t in by_rank:
        if budget <= 0:
            break
        want[i], budget = t[:budget], budget - len(t)
    assert sum(map(len, got[-len(want):])) == 12  # the cap, with the last document cut
    assert got[-len(want):] == [want[i] for i in sorted(want)]  # wiki after code (name order), id order
    assert "".join(got[:-len(want)]) and sum(map(len, got[:-len(want)])) == 12


def test_sample_is_the_same_for_any_sharding_and_seeded():
    docs = [(f"crawl/s-{k % 3}/{k:012d}", f"text {k} " * (k % 7 + 1)) for k in range(60)]
    one = list(bpe.sample({"crawl": _shards(docs, 1)}, 200, seed=1))
    for n in (2, 4, 16):
        assert list(bpe.sample({"crawl": iter(_shards(docs, n)[::-1])}, 200, seed=1)) == one
    assert list(bpe.sample({"crawl": _shards(docs, 1)}, 200, seed=2)) != one
    assert sum(map(len, one)) == 200
