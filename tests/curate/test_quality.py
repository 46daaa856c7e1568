"""lmsci/curate/quality.py: the DCLM-style fastText quality classifier trained in the workflow — a
byte-identical model for the same inputs and seed, a seeded negative sample, scores that separate
the classes, the pool-rank attribute behind ``top_fraction``, and both decision modes."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import random

import polars as pl
import pytest

from lmsci import cli, config
from lmsci.crawl.documents import doc_id, frame
from lmsci.curate import filter as filt
from lmsci.curate import quality, tag

PROSE = ("the river valley was settled by farmers who built canals bridges and towns along its banks during "
         "the medieval period historians describe the region as an important centre of trade in grain "
         "timber and wool").split()
SPAM = ("click here buy now cheap deals login password download free casino bonus offer subscribe cart "
        "checkout cookie menu home contact privacy terms share tweet follow").split()


def _texts(words: list[str], n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(words) for _ in range(rng.randint(30, 80))) for _ in range(n)]


POSITIVES = _texts(PROSE, 40, 1)
POOL = _texts(SPAM, 60, 2) + _texts(PROSE, 20, 3)  # the ranked source: mostly junk, some prose


@pytest.fixture(scope="module")
def qcfg() -> config.QualityConfig:
    return config.QualityConfig()


@pytest.fixture(scope="module")
def model(tmp_path_factory, qcfg):
    out = tmp_path_factory.mktemp("quality") / "model.bin"
    return out, quality.train(POSITIVES, POOL, qcfg, 1234, out, ["wiki"])


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_training_twice_gives_a_byte_identical_model(model, qcfg, tmp_path):
    path, meta = model
    again = tmp_path / "model.bin"
    meta2 = quality.train(POSITIVES, POOL, qcfg, 1234, again, ["wiki"])
    assert path.read_bytes() == again.read_bytes()
    assert quality.meta_path(path).read_text() == quality.meta_path(again).read_text()
    assert meta == meta2 and meta["model_sha256"] == _sha(path)


def test_metadata_records_counts_seed_and_hashes(model, qcfg):
    path, meta = model
    stored = json.loads(quality.meta_path(path).read_text())
    assert stored == meta
    assert (meta["positives"], meta["negatives"], meta["pool"], meta["seed"]) == (40, 40, 80, 1234)
    assert meta["positive_sources"] == ["wiki"] and meta["hyperparameters"]["thread"] == 1
    assert meta["hyperparameters"]["wordNgrams"] == qcfg.word_ngrams
    assert meta["pool_scores"] == sorted(meta["pool_scores"]) and len(meta["pool_scores"]) == len(POOL)


def test_the_negative_sample_follows_the_seed(model, qcfg, tmp_path):
    _, meta = model
    other = quality.train(POSITIVES, POOL, qcfg, 99, tmp_path / "model.bin", ["wiki"])
    assert other["train_sha256"] != meta["train_sha256"]
    half = dataclasses.replace(qcfg, negatives_per_positive=0.5)
    assert quality.train(POSITIVES, POOL, half, 1234, tmp_path / "half.bin")["negatives"] == 20
    many = dataclasses.replace(qcfg, negatives_per_positive=10.0)
    assert quality.train(POSITIVES, POOL, many, 1234, tmp_path / "many.bin")["negatives"] == len(POOL)  # capped


def test_scores_separate_unseen_prose_from_unseen_junk(model):
    measure = quality.scorer(model[0])
    prose = [measure(t)["score"] for t in _texts(PROSE, 10, 7)]
    junk = [measure(t)["score"] for t in _texts(SPAM, 10, 8)]
    assert min(prose) > 0.5 > max(junk)
    assert all(0.0 <= s <= 1.0 for s in prose + junk)


def test_top_is_the_share_of_the_pool_scoring_higher(model):
    path, meta = model
    measure = quality.scorer(path)
    scores = meta["pool_scores"]
    for text in POOL[::7]:
        a = measure(text)
        assert a["top"] == pytest.approx(sum(s > a["score"] for s in scores) / len(scores), abs=1e-6)
    best = max(POOL, key=lambda t: measure(t)["score"])
    assert measure(best)["top"] == 0.0


def test_top_fraction_keeps_that_share_of_the_pool(model, qcfg):
    measure = quality.scorer(model[0])
    attrs = [measure(t) for t in POOL]
    for fraction in (0.1, 0.25, 0.5):
        cfg = dataclasses.replace(qcfg, mode="top_fraction", top_fraction=fraction)
        kept = [a for a in attrs if quality.decide(a, cfg) is None]
        dropped = [a for a in attrs if quality.decide(a, cfg) is not None]
        assert len(kept) >= math.ceil(fraction * len(POOL))
        assert len(kept) <= math.ceil(fraction * len(POOL)) + sum(  # only ties at the cut-off add more
            a["score"] == min(k["score"] for k in kept) for a in attrs)
        assert min(k["score"] for k in kept) >= max(d["score"] for d in dropped)
        assert {quality.decide(d, cfg) for d in dropped} == {"below_top_fraction"}
    everything = dataclasses.replace(qcfg, mode="top_fraction", top_fraction=1.0)
    assert all(quality.decide(a, everything) is None for a in attrs + [{"score": 0.0, "top": 1.0}])


def test_threshold_mode(qcfg):
    cfg = dataclasses.replace(qcfg, mode="threshold", threshold=0.3)
    assert quality.decide({"score": 0.3, "top": 0.9}, cfg) is None
    assert quality.decide({"score": 0.29, "top": 0.0}, cfg) == "low_score"


def test_tag_and_filter_with_the_model(model, cfg):
    rows = [{"id": doc_id("crawl", "a", i), "source": "crawl", "shard": "a", "offset": i, "record_id": str(i),
             "url": "", "text": t} for i, t in enumerate(_texts(PROSE, 3, 11) + _texts(SPAM, 3, 12))]
    df = frame(rows)
    tagged, led = tag.tag(df, ["quality"], "crawl", "a", model[0])
    assert tagged.columns == df.columns + ["quality_score", "quality_top"] and led.kept == 6
    cfg = dataclasses.replace(cfg, quality=dataclasses.replace(cfg.quality, mode="threshold", threshold=0.5))
    kept, dropped, led = filt.apply(tagged, ["quality"], cfg, "crawl", "a")
    assert sorted(kept["record_id"]) == ["0", "1", "2"]
    assert dict(led.dropped) == {"quality/low_score": 3} and led.seen == led.kept + 3


def test_tag_without_a_model_fails_in_one_line():
    df = frame([{"id": "x", "source": "crawl", "shard": "a", "offset": 0, "record_id": "0", "url": "", "text": "t"}])
    with pytest.raises(ValueError, match="quality filter needs a trained model"):
        tag.tag(df, ["quality"], "crawl", "a")
    with pytest.raises(FileNotFoundError, match="train-quality"):
        quality.scorer("/nonexistent/model.bin")


def test_no_positives_fails_in_one_line(qcfg, tmp_path):
    with pytest.raises(ValueError, match="no positive documents in sources wiki"):
        quality.train(["", "  "], POOL, qcfg, 1, tmp_path / "m.bin", ["wiki"])


def test_train_quality_verb(tmp_path, cfg):
    def shard(name, texts):
        path = tmp_path / f"{name}.parquet"
        frame([{"id": doc_id(name, "s", i), "source": name, "shard": "s", "offset": i, "record_id": str(i),
                "url": "", "text": t} for i, t in enumerate(texts)]).sample(fraction=1.0, shuffle=True,
                                                                          seed=3).write_parquet(path)
        return str(path)

    pos, neg = shard("wiki", POSITIVES), shard("crawl", POOL)
    blob = config.slice_json(cfg, "seed", "quality")
    assert cli.main(["train-quality", "--cfg", blob, "--positives", pos, "--negatives", neg,
                     "--out", str(tmp_path / "q/model.bin")]) == 0
    meta = json.loads((tmp_path / "q/model.json").read_text())
    assert (meta["positives"], meta["pool"], meta["seed"]) == (40, 80, cfg.seed)
    assert pl.read_parquet(neg).height == meta["pool"]


@pytest.mark.parametrize("budget", [2_000, 50_000_000])
def test_train_quality_samples_the_same_documents_for_any_sharding(tmp_path, cfg, budget):
    """quality.sample_chars bounds the text read into the job; the sample (and so the model) is the same
    whether the pool comes in 1 shard or 4, and a budget above the pool keeps every document."""
    def shards(name, texts, n, where):
        where.mkdir(parents=True, exist_ok=True)
        rows = [{"id": doc_id(name, "s", i), "source": name, "shard": "s", "offset": i, "record_id": str(i),
                 "url": "", "text": t} for i, t in enumerate(texts)]
        paths = []
        for k in range(n):
            path = where / f"{name}-{k}.parquet"
            frame(rows[k::n]).write_parquet(path)
            paths.append(str(path))
        return paths

    small = dataclasses.replace(cfg, quality=dataclasses.replace(cfg.quality, sample_chars=budget))
    blob = config.slice_json(small, "seed", "quality")
    metas = []
    for n in (1, 4):
        d = tmp_path / f"n{n}"
        assert cli.main(["train-quality", "--cfg", blob, "--positives", *shards("wiki", POSITIVES, n, d),
                         "--negatives", *shards("crawl", POOL, n, d), "--out", str(d / "model.bin")]) == 0
        metas.append(json.loads((d / "model.json").read_text()))
    assert metas[0]["model_sha256"] == metas[1]["model_sha256"]
    assert metas[0]["sampled_from"] == {"positives": 40, "pool": 80}
    if budget < sum(map(len, POOL)):
        assert 0 < metas[0]["pool"] < 80 and 0 < metas[0]["positives"] < 40
    else:
        assert (metas[0]["positives"], metas[0]["pool"]) == (40, 80)


def test_a_model_file_replaced_in_place_is_scored_with_the_new_model(model, qcfg, tmp_path):
    import os
    import shutil

    path, _ = model
    live = tmp_path / "live" / "model.bin"
    live.parent.mkdir()
    shutil.copy(path, live)
    shutil.copy(quality.meta_path(path), quality.meta_path(live))
    text = POOL[-1]
    before = quality.scorer(live)(text)
    other = tmp_path / "other" / "model.bin"
    quality.train(POSITIVES, POOL[:50], qcfg, 99, other, ["wiki"])
    expected = quality.scorer(other)(text)
    assert expected != before
    os.replace(quality.meta_path(other), quality.meta_path(live))
    os.replace(other, live)  # a rerun's atomic write: a new file at the same path
    assert quality.scorer(live)(text) == expected
