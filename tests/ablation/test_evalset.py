"""The evaluation set: chosen from extracted documents by a seeded hash of the id, whatever the sharding,
capped per source; the ablation's tokenize drops exactly those documents by id with a named reason."""
from __future__ import annotations

import polars as pl
import pytest

from lmsci.ablation import evalset, tokens


def _shard(path, source, ids):
    pl.DataFrame({"id": ids, "source": [source] * len(ids), "url": [f"u/{i}" for i in ids],
                  "text": [f"text of {i} " * 5 for i in ids]}).write_parquet(path)
    return path


def test_the_choice_depends_on_ids_and_seed_only_not_on_sharding(tmp_path):
    ids = [f"crawl/{i:04d}" for i in range(400)]
    one = [_shard(tmp_path / "all.parquet", "crawl", ids)]
    two = [_shard(tmp_path / "a.parquet", "crawl", ids[::2]), _shard(tmp_path / "b.parquet", "crawl", ids[1::2])]
    a = evalset.choose(one, seed=5, fraction=0.1, max_documents=1000)
    assert a.equals(evalset.choose(two, seed=5, fraction=0.1, max_documents=1000))
    assert 20 < a.height < 60  # ~10 % of 400
    assert not a.equals(evalset.choose(one, seed=6, fraction=0.1, max_documents=1000))
    capped = evalset.choose(one, seed=5, fraction=0.1, max_documents=7)
    assert capped.height == 7 and set(capped["id"]) <= set(a["id"])


def test_an_empty_evaluation_set_names_the_key(tmp_path):
    with pytest.raises(ValueError, match="ablation.eval_fraction"):
        evalset.choose([_shard(tmp_path / "x.parquet", "crawl", ["a"])], seed=1, fraction=1e-9, max_documents=5)


def test_tokenize_drops_the_evaluation_documents_by_id(tmp_path, monkeypatch):
    df = pl.DataFrame({"id": ["a", "b", "c"], "url": ["u"] * 3, "text": ["alpha beta", "gamma", "delta"]})
    monkeypatch.setattr(tokens, "load", lambda _: type("T", (), {"get_vocab_size": lambda s: 300,
                                                                  "token_to_id": lambda s, t: 0})())
    monkeypatch.setattr(tokens, "eod_id", lambda _: 0)
    monkeypatch.setattr(tokens.fast, "encode_batch", lambda _, texts: [[5] * len(t) for t in texts])
    kept, dropped, led = tokens.stage(df, heldout={"b"}, out_dir=tmp_path, tokenizer="tok.json", source="crawl",
                                      shard="s0", seed=1)
    assert kept["id"].to_list() == ["a", "c"] and set(kept["split"]) == {"train"}
    assert dropped["id"].to_list() == ["b"] and dropped["reason"].to_list() == [tokens.REASON]
    assert (led.seen, led.kept, dict(led.dropped)) == (3, 2, {tokens.REASON: 1})
    assert (tmp_path / "train.bin").stat().st_size > 0
