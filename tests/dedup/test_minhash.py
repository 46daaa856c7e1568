"""lmsci/dedup/minhash.py: precision and recall on generated near-duplicates of known Jaccard
similarity, the same keep set whatever the shard split, lowest id wins, and the file-backed verbs."""
from __future__ import annotations

import dataclasses
import itertools
import json
import random

import polars as pl
import pytest

from lmsci import cli
from lmsci.config import MinHashConfig
from lmsci.crawl.documents import doc_id, frame
from lmsci.dedup import minhash as mh

CFG = MinHashConfig()
VOCAB = [f"{a}{b}{c}" for a in ("ka", "lo", "mi", "nu", "pe", "ra", "si", "to", "vu", "ze")
         for b in ("bar", "den", "fil", "gor", "han", "jun", "kes", "lim", "mor", "nix")
         for c in ("a", "e", "i", "o", "u", "an", "en", "in", "on", "un")]  # 1,000 words
MARGIN = 0.10  # pairs this close to the threshold are left out of precision/recall (the estimate's noise)


def _shingles(text: str, n: int = CFG.ngram) -> set[tuple[str, ...]]:
    words = text.lower().split()
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def jaccard(a: str, b: str) -> float:
    sa, sb = _shingles(a), _shingles(b)
    return len(sa & sb) / len(sa | sb)


def corpus(groups: int, seed: int) -> list[tuple[str, str]]:
    """(id, text): per group an original of 200 words and a copy with 0-39 words replaced (Jaccard ~0.1-1)."""
    rng = random.Random(seed)
    docs = []
    for g in range(groups):
        base = [rng.choice(VOCAB) for _ in range(200)]
        copy = list(base)
        for pos in rng.sample(range(200), int(40 * rng.random() ** 2)):  # a third of the copies within 3 words
            copy[pos] = rng.choice(VOCAB)
        docs += [(doc_id("s", f"shard-{g % 5}", 2 * g), " ".join(base)),
                 (doc_id("s", f"shard-{(g * 7) % 5}", 2 * g + 1), " ".join(copy))]
    return docs


def _frame(docs) -> pl.DataFrame:
    return frame([{"id": i, "source": "s", "shard": i.split("/")[1], "offset": int(i.split("/")[2]),
                   "record_id": i, "url": "", "text": t} for i, t in docs])


def run(frames: list[pl.DataFrame], cfg: MinHashConfig = CFG):
    sigs = pl.concat([mh.signatures(f, cfg) for f in frames])
    clus = mh.clusters([mh.band_edges(sigs, b, cfg) for b in range(cfg.bands)])
    return mh.apply(frames, clus, "s")


@pytest.fixture(scope="module")
def generated():
    docs = corpus(150, seed=7)
    kept, dropped, led = run([_frame(docs)])
    return docs, kept, dropped, led


def test_precision_and_recall_at_the_configured_threshold(generated):
    docs, kept, dropped, _ = generated
    text = dict(docs)
    merged = set(zip(dropped["dup_of"], dropped["id"]))
    # every pair that shares a shingle, with its true Jaccard (other pairs have Jaccard 0)
    index: dict[tuple, set[str]] = {}
    for i, t in docs:
        for s in _shingles(t):
            index.setdefault(s, set()).add(i)
    pairs = {tuple(sorted(p)) for ids in index.values() for p in itertools.combinations(sorted(ids), 2)}
    truth = {p: jaccard(text[p[0]], text[p[1]]) for p in pairs}
    assert sum(j >= CFG.threshold + MARGIN for j in truth.values()) >= 40  # enough positives to measure
    assert sum(j <= CFG.threshold - MARGIN for j in truth.values()) >= 40  # and near-miss negatives
    judged = {p: j for p, j in truth.items() if abs(j - CFG.threshold) >= MARGIN}
    positives = {p for p, j in judged.items() if j >= CFG.threshold}
    predicted = {p for p in merged if p in judged or p not in truth}  # a merge of unrelated documents counts too
    true_pos = len(predicted & positives)
    assert true_pos / max(len(predicted), 1) >= 0.95  # precision
    assert true_pos / len(positives) >= 0.95  # recall


def test_identical_keep_set_for_one_or_four_shards(generated):
    docs, kept, dropped, _ = generated
    rows = list(docs)
    random.Random(3).shuffle(rows)
    four = run([_frame(rows[i::4]) for i in range(4)])
    assert four[0].equals(kept) and four[1].equals(dropped)


def test_lowest_id_is_kept_and_cluster_size_recorded():
    rng = random.Random(1)
    words = [rng.choice(VOCAB) for _ in range(240)]
    text, other = " ".join(words[:120]), " ".join(words[120:])
    near = " ".join(words[:60] + ["changed"] + words[61:120])
    docs = [(doc_id("s", "b", 5), near), (doc_id("s", "a", 9), text), (doc_id("s", "c", 1), text + " end"),
            (doc_id("s", "a", 3), other)]
    kept, dropped, led = run([_frame(docs)])
    root = doc_id("s", "a", 9)
    assert kept["id"].to_list() == [doc_id("s", "a", 3), root]
    assert dict(zip(kept["id"], kept["minhash_cluster_size"])) == {doc_id("s", "a", 3): 1, root: 3}
    assert set(dropped["dup_of"]) == {root} and set(dropped["reason"]) == {mh.REASON}
    assert (led.stage, led.seen, led.kept, dict(led.dropped)) == ("dedup_minhash", 4, 2, {mh.REASON: 2})


def test_signatures_estimate_jaccard():
    docs = corpus(40, seed=11)
    a, b = mh.hash_params(CFG)
    errors = []
    for (_, x), (_, y) in zip(docs[::2], docs[1::2]):
        sx, sy = (mh.signature(mh.shingle_hashes(t, CFG.ngram), a, b) for t in (x, y))
        errors.append(float((sx == sy).mean()) - jaccard(x, y))
    assert abs(sum(errors) / len(errors)) < 0.02  # unbiased
    assert max(map(abs, errors)) < 0.2  # ~4 standard deviations of a 112-hash estimate


def test_threshold_zero_merges_every_candidate_and_disabled_merges_none(generated):
    docs, kept, dropped, _ = generated
    loose = run([_frame(docs)], dataclasses.replace(CFG, threshold=0.0))[1]
    assert set(dropped["id"]) <= set(loose["id"])
    off = run([_frame(docs)], dataclasses.replace(CFG, enabled=False))
    assert off[1].height == 0 and off[0].height == len(docs)


def test_short_and_empty_texts():
    docs = [(doc_id("s", "a", 1), "one two"), (doc_id("s", "a", 2), "One  two"), (doc_id("s", "a", 3), "  ")]
    kept, dropped, _ = run([_frame(docs)])
    assert kept["id"].to_list() == [doc_id("s", "a", 1), doc_id("s", "a", 3)]  # fewer words than n: one shingle


def test_unsorted_edges_are_rejected():
    bad = pl.DataFrame({"a": ["s/b", "s/a"], "b": ["s/c", "s/b"]})
    with pytest.raises(ValueError, match="not sorted"):
        mh.clusters([bad])


def test_file_backed_verbs(tmp_path, generated):
    docs, kept, dropped, _ = generated
    cfg = json.dumps({"minhash": dataclasses.asdict(CFG)})
    shards = [tmp_path / f"in-{i}.parquet" for i in range(2)]
    for i, path in enumerate(shards):
        _frame(docs[i::2]).write_parquet(path)
        sig = str(tmp_path / f"sig-{i}.parquet")
        assert cli.main(["minhash-signatures", "--cfg", cfg, "--input", str(path), "--out", sig]) == 0
    sigs = [str(tmp_path / f"sig-{i}.parquet") for i in range(2)]
    assert cli.main(["minhash-buckets", "--cfg", cfg, "--inputs", *sigs, "--out-dir", str(tmp_path / "b")]) == 0
    edges = sorted(str(p) for p in (tmp_path / "b").glob("band-*.parquet"))
    assert len(edges) == CFG.bands
    whole = tmp_path / "docs.parquet"
    _frame(docs).write_parquet(whole)
    out = {k: str(tmp_path / f"{k}.parquet") for k in ("kept", "dropped", "clusters")}
    assert cli.main(["dedup-minhash", "--cfg", cfg, "--source", "s", "--inputs", str(whole), "--edges", *edges,
                     "--clusters", out["clusters"], "--out", out["kept"], "--dropped", out["dropped"],
                     "--stats", str(tmp_path / "stats.json")]) == 0
    assert pl.read_parquet(out["kept"]).equals(kept)
    assert pl.read_parquet(out["dropped"]).equals(dropped)


def test_one_job_per_band_gives_the_files_and_keep_list_of_one_job_for_all(tmp_path, generated):
    """The workflow runs `minhash-buckets --bands B` once per band; the edge files, clusters and keep
    list must be those of a single run over all bands, and the band order must not matter."""
    docs, kept, dropped, _ = generated
    cfg = json.dumps({"minhash": dataclasses.asdict(CFG)})
    sigs = []
    for i in range(3):
        path = tmp_path / f"in-{i}.parquet"
        _frame(docs[i::3]).write_parquet(path)
        sigs.append(str(tmp_path / f"sig-{i}.parquet"))
        assert cli.main(["minhash-signatures", "--cfg", cfg, "--input", str(path), "--out", sigs[-1]]) == 0
    assert cli.main(["minhash-buckets", "--cfg", cfg, "--inputs", *sigs, "--out-dir", str(tmp_path / "all")]) == 0
    for band in reversed(range(CFG.bands)):  # one job each, shard files in another order
        assert cli.main(["minhash-buckets", "--cfg", cfg, "--inputs", *sigs[::-1], "--bands", f"{band:03d}",
                         "--out-dir", str(tmp_path / "per")]) == 0
    names = [mh.band_file(b) for b in range(CFG.bands)]
    assert sorted(p.name for p in (tmp_path / "per").iterdir()) == names
    for name in names:
        assert (tmp_path / "per" / name).read_bytes() == (tmp_path / "all" / name).read_bytes()
    whole = tmp_path / "docs.parquet"
    _frame(docs).write_parquet(whole)
    results = {}
    for run_dir in ("all", "per"):
        out = {k: str(tmp_path / f"{run_dir}-{k}.parquet") for k in ("kept", "dropped", "clusters")}
        edges = [str(tmp_path / run_dir / n) for n in names]
        assert cli.main(["dedup-minhash", "--cfg", cfg, "--source", "s", "--inputs", str(whole), "--edges", *edges,
                         "--clusters", out["clusters"], "--out", out["kept"], "--dropped", out["dropped"],
                         "--stats", str(tmp_path / f"{run_dir}-stats.json")]) == 0
        results[run_dir] = {k: pl.read_parquet(v) for k, v in out.items()}
    assert results["per"]["kept"].equals(results["all"]["kept"]) and results["per"]["kept"].equals(kept)
    assert results["per"]["dropped"].equals(dropped) and results["per"]["clusters"].equals(results["all"]["clusters"])
    assert dropped.height > 0  # the generated corpus has near duplicates, so the comparison has teeth
