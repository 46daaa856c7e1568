"""The sharded dedup plane end to end through its verbs (the workflow's rules, without Snakemake): on a
generated source with planted exact and near duplicates spread over shards, the kept ids and every
``dup_of`` are the same for 1, 4 and 16 shards and 1, 3 and 8 hash ranges, equal to the single-process
algorithm the workflow ran before sharding (reimplemented below as the oracle), and the ledgers add up."""
from __future__ import annotations

import dataclasses
import json
import random

import polars as pl
import pytest

from lmsci import cli
from lmsci.config import DedupConfig, MinHashConfig
from lmsci.crawl.documents import doc_id, frame
from lmsci.dedup import exact, local
from lmsci.dedup import minhash as mh

MH = MinHashConfig(bands=4, permutations=32)  # configs/tiny.yaml's LSH: 4 bands x 8 rows
WORDS = [f"{a}{b}" for a in ("ka", "lo", "mi", "nu", "pe", "ra", "si", "to") for b in range(60)]


def generated(seed: int = 5) -> list[dict]:
    """~320 documents: 140 originals; exact copies (case, spacing, NFKC width) and near copies (1-2 words
    of ~90 changed, Jaccard ~0.9), copies of near copies, under ids that put copies before and after
    their originals and in other shards."""
    rng = random.Random(seed)
    texts = []
    for _ in range(140):
        words = [rng.choice(WORDS) for _ in range(rng.randint(70, 110))]
        texts.append(" ".join(words))
        if rng.random() < 0.4:
            texts.append("  " + " ".join(words).upper() + "\n")
        if rng.random() < 0.4:
            near = list(words)
            for pos in rng.sample(range(len(near)), rng.randint(1, 2)):
                near[pos] = rng.choice(WORDS)
            texts.append(" ".join(near))
            if rng.random() < 0.5:
                texts.append("\t".join(near).replace("ka", "ｋａ"))  # an exact copy (after NFKC) of the near copy
    offsets = rng.sample(range(10_000), len(texts))
    rows = [{"id": doc_id("s", f"w{off % 7}", off), "source": "s", "shard": f"w{off % 7}", "offset": off,
             "record_id": str(off), "url": f"https://example.org/{off}", "text": t} for t, off in zip(texts, offsets)]
    return rows


def oracle(rows: list[dict]) -> tuple[dict, dict]:
    """The pre-sharding algorithm: one pass in id order keeps the first of each normalised-text hash
    (exact), MinHash signatures of every document, a string union-find over all bands' edges, roots
    applied to exact's survivors → ({exact dropped id: dup_of}, {near dropped id: dup_of})."""
    first, exact_dup = {}, {}
    for r in sorted(rows, key=lambda r: r["id"]):
        h = exact.text_hash(r["text"])
        if h in first:
            exact_dup[r["id"]] = first[h]
        first.setdefault(h, r["id"])
    sigs = mh.signatures(frame(rows), MH)
    parent: dict[str, str] = {}

    def find(x):
        while parent.get(x, x) != x:
            x = parent[x]
        return x
    for band in range(MH.bands):
        for x, y in mh.band_edges(sigs, band, MH).iter_rows():
            rx, ry = find(x), find(y)
            if rx != ry:
                parent[max(rx, ry)] = min(rx, ry)
    near_dup = {r["id"]: find(r["id"]) for r in rows
                if r["id"] not in exact_dup and find(r["id"]) != r["id"]}
    return exact_dup, near_dup


def run_verbs(tmp, rows: list[dict], shards: int, buckets: int):
    """Every verb of the dedup rules, one call per job → per-stage frames and ledgers of every shard."""
    tmp.mkdir(parents=True)
    rng = random.Random(shards * 100 + buckets)
    order = list(rows)
    rng.shuffle(order)  # documents reach shards in any split
    blob = json.dumps({"dedup": dataclasses.asdict(DedupConfig(hash_buckets=buckets)),
                       "minhash": dataclasses.asdict(MH)})
    names = [f"sh{i:02d}" for i in range(shards)]
    p = {n: {k: str(tmp / f"{k}-{n}.parquet") for k in ("pii", "hash", "xk", "xd", "sig", "mk", "md")}
         for n in names}
    for i, n in enumerate(names):
        frame(order[i::shards]).write_parquet(p[n]["pii"])
        assert cli.main(["dedup-hashes", "--cfg", blob, "--input", p[n]["pii"], "--out", p[n]["hash"]]) == 0
    groups = [str(tmp / f"bucket-{b:03d}.parquet") for b in range(buckets)]
    for b, g in enumerate(groups):
        assert cli.main(["dedup-groups", "--cfg", blob, "--inputs", *[p[n]["hash"] for n in names],
                         "--bucket", str(b), "--out", g]) == 0
    for n in names:
        assert cli.main(["dedup-exact", "--cfg", blob, "--source", "s", "--shard", n, "--input", p[n]["pii"],
                         "--groups", *groups, "--out", p[n]["xk"], "--dropped", p[n]["xd"],
                         "--stats", p[n]["xk"] + ".stats.json"]) == 0
        assert cli.main(["minhash-signatures", "--cfg", blob, "--input", p[n]["xk"], "--out", p[n]["sig"]]) == 0
    bands = [str(tmp / mh.band_file(b)) for b in range(MH.bands)]
    for b, out in enumerate(bands):
        assert cli.main(["minhash-buckets", "--cfg", blob, "--inputs", *[p[n]["sig"] for n in names],
                         "--bands", str(b), "--out", out]) == 0
    clusters = str(tmp / "clusters.parquet")
    assert cli.main(["minhash-clusters", "--cfg", blob, "--edges", *bands, "--out", clusters]) == 0
    for n in names:
        assert cli.main(["dedup-minhash", "--cfg", blob, "--source", "s", "--shard", n, "--input", p[n]["xk"],
                         "--clusters", clusters, "--out", p[n]["mk"], "--dropped", p[n]["md"],
                         "--stats", p[n]["mk"] + ".stats.json"]) == 0

    def cat(key):
        return pl.concat([pl.read_parquet(p[n][key]) for n in names]).sort("id")

    def ledgers(key):
        return [json.loads(open(p[n][key] + ".stats.json").read()) for n in names]
    return {k: cat(k) for k in ("xk", "xd", "mk", "md")} | {"xl": ledgers("xk"), "ml": ledgers("mk")}


@pytest.fixture(scope="module")
def rows():
    return generated()


@pytest.fixture(scope="module")
def truth(rows):
    exact_dup, near_dup = oracle(rows)
    assert len(exact_dup) >= 40 and len(near_dup) >= 30  # enough planted duplicates to have teeth
    assert set(near_dup.values()) - set(exact_dup) == set(near_dup.values())  # roots are exact survivors
    return exact_dup, near_dup


@pytest.fixture(scope="module")
def runs(rows, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sharded")
    return {(s, b): run_verbs(tmp / f"{s}-{b}", rows, s, b) for s in (1, 4, 16) for b in (1, 3, 8)}


@pytest.mark.parametrize("shards", [1, 4, 16])
@pytest.mark.parametrize("buckets", [1, 3, 8])
def test_same_documents_and_dup_of_as_one_process(runs, rows, truth, shards, buckets):
    exact_dup, near_dup = truth
    r = runs[(shards, buckets)]
    assert dict(zip(r["xd"]["id"], r["xd"]["dup_of"])) == exact_dup
    assert dict(zip(r["md"]["id"], r["md"]["dup_of"])) == near_dup
    assert r["mk"]["id"].to_list() == sorted(set(x["id"] for x in rows) - set(exact_dup) - set(near_dup))
    assert set(r["xd"]["reason"]) == {exact.REASON} and set(r["md"]["reason"]) == {mh.REASON}
    assert set(r["md"]["dup_of"]) <= set(r["mk"]["id"])  # every cluster root is in the curated output


@pytest.mark.parametrize("key", ["xk", "xd", "mk", "md"])
def test_outputs_identical_for_any_shard_and_bucket_count(runs, key):
    first = runs[(1, 1)][key]
    for r in runs.values():
        assert r[key].equals(first)


def test_ledgers_add_up(runs, rows):
    for (shards, _), r in runs.items():
        xl, ml = r["xl"], r["ml"]
        assert [x["stage"] for x in xl] == ["dedup_exact"] * shards and [x["stage"] for x in ml] == ["dedup_minhash"] * shards
        assert sum(x["seen"] for x in xl) == len(rows)
        assert [x["kept"] for x in xl] == [x["seen"] for x in ml]  # MinHash saw exactly what exact kept, per shard
        assert sum(x["dropped"].get(exact.REASON, 0) for x in xl) == r["xd"].height
        assert sum(x["dropped"].get(mh.REASON, 0) for x in ml) == r["md"].height
        assert sum(x["kept"] for x in ml) == r["mk"].height
        assert sum(x["extra"]["clusters"] for x in ml) == r["md"]["dup_of"].n_unique()


def test_in_process_dedup_matches_the_workflow(runs, rows):
    """`lmsci curate`'s one-process path (lmsci.dedup.local) keeps the same documents, same dup_of."""
    frames = [frame(rows[i::3]) for i in range(3)]
    kept, (xd, md), (xl, ml) = local.dedup(frames, "s", DedupConfig(hash_buckets=3), MH)
    r = runs[(4, 3)]
    assert kept.equals(r["mk"]) and xd.equals(r["xd"]) and md.equals(r["md"])
    assert (xl.seen, xl.kept, ml.seen, ml.kept) == (len(rows), r["xk"].height, r["xk"].height, r["mk"].height)
