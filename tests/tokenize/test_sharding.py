"""The token plane on the sharded layout, through the verbs the rules call (``lmsci.cli.main``).

The same curated documents, cut into 1, 4 and 16 shards, go through train-tokenizer, split-fallback,
decontam-index, tokenize (per shard), merge-tokens and mix. Every document must get the same split
and the same token ids whatever the sharding, every ``.bin/.idx`` must open in megatron's
IndexedDataset and decode back to the curated text, merging must not change a token, and the mix
must give each source its configured weight.
"""
from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from megatron.core.datasets.indexed_dataset import IndexedDataset

from lmsci import cli, config
from lmsci.crawl.documents import doc_id
from lmsci.tokenize import bpe, split

WORDS = ("river valley farm bank spring water snow mountain gate canal field town grain timber wool city "
         "orchard bridge railway coast the and of to with that").split()
SHARDINGS = (1, 4, 16)


def _corpus(fraction: float, seed: int) -> dict[str, list[dict]]:
    """crawl: 48 documents; code: 10; wiki: 3 whose hashes all miss the valid split (the fallback must
    pick one, from all shards). A crawl training document copies 13 words of a held-out crawl
    document (contaminated), another copies 12 (clean)."""
    rng = random.Random(0)

    def text():
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(15, 60)))

    docs = {"crawl": [(doc_id("crawl", f"cc-{i % 5:05d}", 1000 * i), text()) for i in range(48)],
            "code": [(doc_id("code", "code-00000", 10 * i), text()) for i in range(10)]}
    wiki, offset = [], 0
    while len(wiki) < 3:
        i = doc_id("wiki", "wiki-00000", offset)
        offset += 7
        if split.unit(seed, i) >= fraction:
            wiki.append((i, text()))
    docs["wiki"] = wiki
    crawl = dict(docs["crawl"])
    splits = split.assign(list(crawl), seed, fraction)
    held = next(t for (i, t), s in zip(docs["crawl"], splits) if s == "valid").split()
    train = [i for i, s in zip(crawl, splits) if s == "train"]
    crawl[train[0]] += " " + " ".join(held[:13])
    crawl[train[1]] += " " + " ".join(held[:12])
    docs["crawl"] = list(crawl.items())
    return {src: [{"id": i, "source": src, "url": f"https://x/{i}", "text": t, "minhash_cluster_size": 1}
                  for i, t in rows] for src, rows in docs.items()}, train[0], train[1]


def _write_shards(root: Path, corpus: dict, n: int) -> dict[str, list[Path]]:
    out = {}
    for src, rows in corpus.items():
        out[src] = []
        for k in range(n):  # round robin: every shard holds a slice of every part of the id range
            part = [r for j, r in enumerate(rows) if j % n == k]
            path = root / "minhash" / src / f"part-{k:05d}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            pl.DataFrame(part, schema={"id": pl.String, "source": pl.String, "url": pl.String, "text": pl.String,
                                       "minhash_cluster_size": pl.Int64}).write_parquet(path)
            out[src].append(path)
    return out


def _run(cfg: config.Config, root: Path, shards: dict[str, list[Path]], merge: bool) -> dict:
    """Every verb of the token plane, as the rules wire them; returns what they wrote."""
    every = [str(p) for src in sorted(shards) for p in shards[src]]
    sl = lambda *keys: config.slice_json(cfg, *keys)  # noqa: E731
    tokenizer, fallback, index = root / "tokenizer.json", root / "heldout/split.json", root / "heldout/ngrams.npy"
    assert cli.main(["train-tokenizer", "--cfg", sl("seed", "tokenizer"), "--inputs", *every,
                     "--out", str(tokenizer)]) == 0
    assert cli.main(["split-fallback", "--cfg", sl("seed", "split"), "--inputs", *every, "--out", str(fallback)]) == 0
    assert cli.main(["decontam-index", "--cfg", sl("seed", "split", "decontam"), "--inputs", *every,
                     "--split-fallback", str(fallback), "--out", str(index)]) == 0
    stats = []
    for src, paths in shards.items():
        for p in paths:
            shard = p.name.removesuffix(".parquet")
            base = root / "tokens" / src / shard
            stats.append(f"{base}.stats.json")
            assert cli.main(["tokenize", "--cfg", sl("seed", "split", "decontam"), "--source", src, "--shard", shard,
                             "--input", str(p), "--tokenizer", str(tokenizer), "--split-fallback", str(fallback),
                             "--index", str(index), "--out", str(base / "documents.parquet"),
                             "--dropped", f"{base}.dropped.parquet", "--stats", stats[-1]]) == 0
        if merge:
            assert cli.main(["merge-tokens", "--cfg", sl("tokenize"), "--inputs",
                             *[str(root / "tokens" / src / p.name.removesuffix(".parquet") / "documents.parquet")
                               for p in paths], "--tokenizer", str(tokenizer),
                             "--out", str(root / "tokens" / src / "merged" / "documents.parquet")]) == 0
    mcfg = config.from_dict({**config.to_dict(cfg), "tokenize": {"merge": merge}})
    assert cli.main(["mix", "--cfg", config.slice_json(mcfg, "seed", "sources", "model", "train", "tokenize"),
                     "--inputs", *stats, "--tokenizer", str(tokenizer), "--out", str(root / "blend.json")]) == 0
    return {"tokenizer": tokenizer, "blend": json.loads((root / "blend.json").read_text()),
            "fallback": fallback, "index": index, "stats": stats}


def _per_document(blend: dict) -> dict[str, tuple[str, list[int]]]:
    """id → (split, token ids), read back through every prefix the blend lists and its lineage."""
    out = {}
    entries = [(e["prefix"], "train") for e in blend["train"]] + [
        (p, "valid") for e in blend["valid"] for p in e["prefixes"]]
    for prefix, name in entries:
        ds = IndexedDataset(prefix)
        lineage = pl.read_parquet(Path(prefix).parent / "documents.parquet").filter(pl.col("split") == name)
        assert len(ds) == lineage.height
        for i, index in lineage.select("id", "index").iter_rows():
            assert i not in out
            out[i] = (name, ds[index].tolist())
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = config.read_yaml(Path(__file__).resolve().parents[2] / "config.yaml")
    base["tokenizer"] = {"vocab_size": 300, "min_frequency": 2, "sample_chars": 4000}
    base["split"] = {"valid_fraction": 0.2}
    cfg = config.from_dict(base)
    corpus, dirty, clean = _corpus(cfg.split.valid_fraction, cfg.seed)
    out = {}
    for n in SHARDINGS:
        root = tmp_path_factory.mktemp(f"shards{n}")
        out[n] = _run(cfg, root, _write_shards(root, corpus, n), merge=False)
        out[n]["root"] = root
    root = tmp_path_factory.mktemp("merged")
    out["merged"] = _run(cfg, root, _write_shards(root, corpus, 4), merge=True)
    return cfg, corpus, dirty, clean, out


def test_same_tokenizer_split_and_index_for_any_sharding(runs):
    _, _, _, _, out = runs
    for n in SHARDINGS[1:]:
        for key in ("tokenizer", "fallback", "index"):
            assert out[n][key].read_bytes() == out[1][key].read_bytes(), (key, n)
    overrides = json.loads(out[1]["fallback"].read_text())
    assert list(overrides["wiki"].values()) == ["valid"] and overrides["crawl"] == {}  # the fallback was needed


def test_token_ids_per_document_identical_for_1_4_16_shards_and_merged(runs):
    _, corpus, dirty, _, out = runs
    docs = {n: _per_document(out[n]["blend"]) for n in (*SHARDINGS, "merged")}
    assert docs[1] == docs[4] == docs[16] == docs["merged"]
    everything = {r["id"] for rows in corpus.values() for r in rows}
    assert set(docs[1]) == everything - {dirty}
    assert {s for s, _ in docs[1].values()} == {"train", "valid"}
    assert {r["id"] for r in corpus["wiki"]} & {i for i, (s, _) in docs[16].items() if s == "valid"}


def test_every_dataset_decodes_back_to_the_curated_text(runs):
    _, corpus, _, _, out = runs
    tok = bpe.load(out[16]["tokenizer"])
    text = {r["id"]: r["text"] for rows in corpus.values() for r in rows}
    for i, (_, ids) in _per_document(out[16]["blend"]).items():
        assert ids[-1] == bpe.eod_id(tok) and bpe.eod_id(tok) not in ids[:-1]
        assert tok.decode(ids[:-1]) == text[i]


def test_planted_13_gram_is_dropped_in_every_sharding_and_ledgers_add_up(runs):
    _, corpus, dirty, clean, out = runs
    for n in SHARDINGS:
        root = out[n]["root"]
        dropped = pl.concat([pl.read_parquet(p) for p in sorted(root.glob("tokens/*/*.dropped.parquet"))])
        assert dropped.select("id", "reason", "overlaps").rows() == [(dirty, "decontam/contaminated", 1)]
        leds = [json.loads(Path(p).read_text()) for p in out[n]["stats"]]
        assert len(leds) == 3 * n and {d["shard"] for d in leds} == {f"part-{k:05d}" for k in range(n)}
        assert sum(d["seen"] for d in leds) == sum(map(len, corpus.values()))
        assert sum(d["kept"] for d in leds) == sum(map(len, corpus.values())) - 1
    assert clean in _per_document(out[1]["blend"])


def test_mix_gives_each_source_its_configured_weight(runs):
    cfg, _, _, _, out = runs
    for n in (*SHARDINGS, "merged"):
        blend = out[n]["blend"]
        by_source: dict[str, float] = {}
        for e in blend["train"]:
            by_source[e["source"]] = by_source.get(e["source"], 0.0) + e["weight"]
        assert by_source == pytest.approx({s: c.weight for s, c in cfg.sources.items()}, rel=1e-12)
        # within a source, shards are weighted by their train tokens
        for e in blend["train"]:
            ds = IndexedDataset(e["prefix"])  # held: its arrays view a memory map closed with it
            tokens = int(ds.sequence_lengths.sum())
            total = next(r["available_tokens"] for r in blend["composition"] if r["source"] == e["source"])
            assert e["weight"] == pytest.approx(cfg.sources[e["source"]].weight * tokens / total)
    assert [r["available_tokens"] for r in out[1]["blend"]["composition"]] == \
        [r["available_tokens"] for r in out[16]["blend"]["composition"]]
    assert len(out[16]["blend"]["train"]) > len(out[4]["blend"]["train"]) > len(out[1]["blend"]["train"]) == 3
    assert all(e["shard"] == "merged" for e in out["merged"]["blend"]["train"])
    assert all(np.isfinite(e["weight"]) and e["weight"] > 0 for e in out[16]["blend"]["train"])


def test_tokenize_bytes_are_the_same_for_either_encoder_and_1_or_2_threads(runs, tmp_path):
    """The fast encoder (gigatoken, one thread) and HF tokenizers' encode_batch on 1 or 2 rayon threads
    (LMSCI_ENCODER=tokenizers) write byte-identical shard outputs: the job's core count cannot matter."""
    import os
    import subprocess
    import sys

    cfg, _, _, _, out = runs
    root = out[4]["root"]
    shard = root / "minhash/crawl/part-00001.parquet"
    want = root / "tokens/crawl/part-00001"
    for threads in ("1", "2"):
        got = tmp_path / threads
        env = {**os.environ, "LMSCI_ENCODER": "tokenizers", "RAYON_NUM_THREADS": threads}
        proc = subprocess.run([sys.executable, "-m", "lmsci", "tokenize", "--cfg",
                               config.slice_json(cfg, "seed", "split", "decontam"), "--source", "crawl", "--shard",
                               "part-00001", "--input", str(shard), "--tokenizer", str(out[4]["tokenizer"]),
                               "--split-fallback", str(out[4]["fallback"]), "--index", str(out[4]["index"]),
                               "--out", str(got / "documents.parquet"), "--dropped", str(got / "d.parquet"),
                               "--stats", str(got / "s.json")], env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert "'encoder': 'tokenizers'" in proc.stdout
        for f in ("train.bin", "train.idx", "valid.bin", "valid.idx", "documents.parquet"):
            assert (got / f).read_bytes() == (want / f).read_bytes(), (threads, f)
