"""lmsci/curate/decontam.py at the tokenize stage (lmsci.tokenize.encode, ``lmsci decontam-index`` then
``lmsci tokenize --index``): a training document that copies a 13-word span of a held-out document is
dropped as decontam/contaminated, a 12-word copy is kept, the ledger adds up, and the on-disk hash
index finds planted overlaps without false positives on a clean set."""
from __future__ import annotations

import json
import random

import numpy as np
import polars as pl
import pytest

from lmsci import cli, config, ledger
from lmsci.config import DecontamConfig, TokenizerConfig
from lmsci.crawl.documents import doc_id, frame
from lmsci.curate import decontam
from lmsci.tokenize import bpe, encode, split

SEED, FRACTION = 1234, 0.3


def _words(doc: int, n: int) -> list[str]:
    return [f"w{doc}x{k}" for k in range(n)]  # no word is shared between documents by accident


def _corpus(source: str, n: int = 12) -> tuple[list[str], list[str]]:
    ids = [doc_id(source, "s", 100 * i) for i in range(n)]
    return ids, [" ".join(_words(i + 100 * len(source), 40)) for i in range(n)]


@pytest.fixture(scope="module")
def tok():
    ids, texts = _corpus("crawl", 40)
    return bpe.train(texts, TokenizerConfig(vocab_size=300, min_frequency=2))


def _crafted(ids, texts, seed=SEED):
    """Copy 13 and 12 words of a held-out document into two training documents (mixed case, punctuation)."""
    splits = split.assign(ids, seed, FRACTION)
    held = texts[splits.index("valid")].split()
    train = [j for j, s in enumerate(splits) if s == "train"]
    texts = list(texts)
    thirteen, twelve = train[0], train[1]
    texts[thirteen] += " Intro, " + ", ".join(w.upper() for w in held[5:18]) + "."
    texts[twelve] += " " + " ".join(held[20:32])
    return texts, ids[thirteen], ids[twelve]


def _frame(source, ids, texts) -> pl.DataFrame:
    return frame([{"id": i, "source": source, "shard": "s", "offset": k, "record_id": str(k), "url": f"u{k}",
                   "text": t} for k, (i, t) in enumerate(zip(ids, texts))])


def test_a_13_word_copy_is_dropped_and_a_12_word_copy_kept(tok, tmp_path):
    ids, texts = _corpus("crawl")
    texts, contaminated, clean = _crafted(ids, texts)
    decontam.build(split.held_out(ids, texts, SEED, FRACTION), DecontamConfig()).save(tmp_path / "i.npy")
    index = decontam.Index.load(tmp_path / "i.npy", DecontamConfig())  # memory-mapped, as the jobs read it
    kept, dropped, led = encode.tokenize(_frame("crawl", ids, texts), encoder=lambda ts: [[len(t)] for t in ts],
                                         eod=0, source="crawl", shard="s", seed=SEED, valid_fraction=FRACTION,
                                         index=index)
    assert dropped.select("id", "reason", "overlaps").rows() == [(contaminated, "decontam/contaminated", 1)]
    assert contaminated not in set(kept["id"]) and clean in set(kept["id"])
    assert dict(led.dropped) == {"decontam/contaminated": 1}
    assert led.seen == len(ids) == led.kept + 1
    assert led.extra["train_documents"] + led.extra["valid_documents"] == led.kept
    assert led.extra["valid_documents"] == split.assign(ids, SEED, FRACTION).count("valid")  # held-out untouched
    assert led.chars_dropped["decontam/contaminated"] == len(texts[ids.index(contaminated)])
    ledger.Ledger.check(led)


def test_index_file_finds_planted_overlaps_and_no_false_positive_on_a_clean_set(tmp_path):
    rng = random.Random(3)
    vocab = [f"v{k}" for k in range(5000)]
    held = [" ".join(rng.choice(vocab) for _ in range(300)) for _ in range(200)]
    decontam.build(held, DecontamConfig()).save(tmp_path / "ngrams.npy")
    index = decontam.Index.load(tmp_path / "ngrams.npy", DecontamConfig())
    assert isinstance(index.hashes, np.memmap) and len(index.hashes) == 200 * 288
    assert np.all(index.hashes[1:] > index.hashes[:-1])  # sorted, distinct: what searchsorted needs
    clean = [" ".join(rng.choice(vocab) for _ in range(300)) for _ in range(2000)]
    assert sum(index.overlaps(t) for t in clean) == 0  # 576,000 clean 13-grams, no hit
    for k in range(50):  # a 13..20-word span of a held-out text planted in a clean one, case and punctuation changed
        src, n = held[k].split(), 13 + k % 8
        start = rng.randrange(0, len(src) - n)
        planted = clean[k] + " — " + ", ".join(w.upper() for w in src[start:start + n]) + "!"
        assert index.contaminated(planted) == n - 12


def test_index_meta_must_match_the_config(tmp_path):
    decontam.build(["a " * 20], DecontamConfig()).save(tmp_path / "i.npy")
    with pytest.raises(ValueError, match=r"i.json: built for ngram=13 .*decontam.ngram=8"):
        decontam.Index.load(tmp_path / "i.npy", DecontamConfig(ngram=8))
    with pytest.raises(ValueError, match="decontamination index not found: .*nope.npy"):
        decontam.Index.load(tmp_path / "nope.npy", DecontamConfig())
    decontam.build([], DecontamConfig()).save(tmp_path / "empty.npy")  # no evaluation n-gram: nothing matches
    assert decontam.Index.load(tmp_path / "empty.npy", DecontamConfig()).overlaps("a " * 30) == 0


def test_ngram_size_and_min_overlaps_are_configurable():
    held = " ".join(_words(1, 40))
    copy = " ".join(_words(1, 40)[3:17])  # 14 words: two 13-grams, three 12-grams
    assert decontam.build([held], DecontamConfig()).overlaps(copy) == 2
    assert decontam.build([held], DecontamConfig(min_overlaps=3)).contaminated(copy) == 0
    assert decontam.build([held], DecontamConfig(min_overlaps=2)).contaminated(copy) == 2
    assert decontam.build([held], DecontamConfig(ngram=12)).overlaps(copy) == 3
    assert decontam.build([held], DecontamConfig(ngram=15)).overlaps(copy) == 0


def test_normalisation_is_lower_case_word_tokens():
    assert decontam.words("The  Cat's hat, (2024)!") == ["the", "cat", "s", "hat", "2024"]
    index = decontam.build(["one two three"], DecontamConfig(ngram=3))
    assert index.overlaps("ONE, two... Three?") == 1 and index.overlaps("one three two") == 0


def test_short_evaluation_texts_are_counted():
    index = decontam.build(["too short", " ".join(_words(2, 13))], DecontamConfig())
    assert index.stats() == {"decontam_eval_texts": 2, "decontam_eval_short_texts": 1, "decontam_eval_ngrams": 1}


def test_extra_paths(tmp_path):
    bench = " ".join(_words(7, 20))
    (tmp_path / "b.txt").write_text(f"{bench}\n\n  \nshort item\n")
    (tmp_path / "b.jsonl").write_text(json.dumps({"text": bench, "label": 1}) + "\n\n")
    assert decontam.read_texts(tmp_path / "b.txt") == [bench, "short item\n"]
    assert decontam.read_texts(tmp_path / "b.jsonl") == [bench]
    index = decontam.build([], DecontamConfig(), [tmp_path / "b.txt"])
    assert index.contaminated("prefix " + " ".join(_words(7, 20)[2:15])) == 1
    (tmp_path / "bad.jsonl").write_text('{"question": "no text field"}\n')
    with pytest.raises(ValueError, match=r"bad.jsonl:1: expected a JSON object"):
        decontam.read_texts(tmp_path / "bad.jsonl")


def test_extra_paths_are_checked_by_the_config(base_dict, repo):
    base_dict["decontam"] = {"extra_paths": ["nope.csv"]}
    with pytest.raises(config.ConfigError, match="decontam.extra_paths"):
        config.from_dict(base_dict)
    base_dict["decontam"] = {"extra_paths": ["missing.jsonl"]}
    with pytest.raises(config.ConfigError, match="file not found: missing.jsonl"):
        config.from_dict(base_dict, root=repo)


def test_verbs_check_every_sources_held_out_documents(tok, tmp_path, cfg):
    """A wiki training document copying a crawl held-out document is dropped; the dropped file and the
    ledger beside it agree; with decontam disabled (no --index) it is kept."""
    crawl_ids, crawl_texts = _corpus("crawl")
    wiki_ids, wiki_texts = _corpus("wiki")
    fraction = cfg.split.valid_fraction  # 12 documents at 0.05: the held-out one comes from the fallback
    held = split.held_out(crawl_ids, crawl_texts, cfg.seed, fraction, split.overrides(crawl_ids, cfg.seed, fraction))
    held = held[0].split()
    victim = split.assign(wiki_ids, cfg.seed, fraction, split.overrides(wiki_ids, cfg.seed, fraction)).index("train")
    wiki_texts[victim] += " " + " ".join(held[:13])
    paths = {}
    for source, ids, texts in (("crawl", crawl_ids, crawl_texts), ("wiki", wiki_ids, wiki_texts)):
        paths[source] = tmp_path / f"{source}.parquet"
        _frame(source, ids, texts).write_parquet(paths[source])
    bpe.save(tok, tmp_path / "tok.json")
    blob = config.slice_json(cfg, "seed", "split", "decontam")
    both = [str(paths["crawl"]), str(paths["wiki"])]
    assert cli.main(["split-fallback", "--cfg", blob, "--inputs", *both, "--out", str(tmp_path / "split.json")]) == 0
    assert cli.main(["decontam-index", "--cfg", blob, "--inputs", *both, "--split-fallback",
                     str(tmp_path / "split.json"), "--out", str(tmp_path / "ngrams.npy")]) == 0
    for enabled in (True, False):
        out = tmp_path / f"tokens-{enabled}"
        assert cli.main(["tokenize", "--cfg", blob, "--source", "wiki", "--shard", "s", "--input", str(paths["wiki"]),
                         "--tokenizer", str(tmp_path / "tok.json"), "--split-fallback", str(tmp_path / "split.json"),
                         *(["--index", str(tmp_path / "ngrams.npy")] if enabled else []),
                         "--out", str(out / "s/documents.parquet"), "--dropped", str(out / "s.dropped.parquet"),
                         "--stats", str(out / "s.stats.json")]) == 0
        stats, dropped = ledger.load(out / "s.stats.json"), pl.read_parquet(out / "s.dropped.parquet")
        assert stats["seen"] == len(wiki_ids) == stats["kept"] + sum(stats["dropped"].values())
        if enabled:
            assert dropped["id"].to_list() == [wiki_ids[victim]] and stats["dropped"] == {"decontam/contaminated": 1}
            assert set(dropped.columns) >= {"id", "url", "reason", "text"}
            meta = json.loads((tmp_path / "ngrams.json").read_text())
            assert meta["ngrams"] > 0 and meta["texts"] == 1 + 1  # crawl's and wiki's held-out document
        else:
            assert dropped.height == 0 and stats["dropped"] == {}


@pytest.mark.parametrize("run_bytes", [64, 8 * 1000, 1 << 30])
def test_external_sort_writes_the_in_memory_index_byte_for_byte(tmp_path, run_bytes):
    """write_index spills sorted runs of run_bytes and merges them range by range: the same file."""
    rng = random.Random(5)
    held = [" ".join(f"v{rng.randrange(400)}" for _ in range(rng.randrange(5, 80))) for _ in range(120)]
    decontam.build(held, DecontamConfig()).save(tmp_path / "mem.npy")
    index = decontam.write_index(iter(held), DecontamConfig(), tmp_path / "ext.npy", run_bytes=run_bytes)
    assert (tmp_path / "ext.npy").read_bytes() == (tmp_path / "mem.npy").read_bytes()
    assert (tmp_path / "ext.json").read_bytes() == (tmp_path / "mem.json").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ext.json", "ext.npy", "mem.json", "mem.npy"]  # no runs
    assert index.overlaps(held[7]) == len(decontam.ngram_hashes(held[7], 13))
    empty = decontam.write_index([], DecontamConfig(), tmp_path / "e.npy", run_bytes=run_bytes)
    assert len(empty.hashes) == 0 and empty.overlaps(held[7]) == 0
