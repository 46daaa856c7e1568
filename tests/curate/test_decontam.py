"""lmsci/curate/decontam.py at the split stage (lmsci.tokenize.encode, ``lmsci tokenize --heldout``): a
training document that copies a 13-word span of a held-out document is dropped as
decontam/contaminated, a 12-word copy is kept, and the ledger adds up."""
from __future__ import annotations

import json

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
    index = decontam.build(split.held_out(ids, texts, SEED, FRACTION), DecontamConfig())
    dropped: list[dict] = []
    lineage, led = encode.encode_source(_frame("crawl", ids, texts), tok, "crawl", tmp_path, SEED, FRACTION,
                                        index, dropped)
    assert [(d["id"], d["reason"], d["overlaps"]) for d in dropped] == [(contaminated, "decontam/contaminated", 1)]
    assert contaminated not in set(lineage["id"]) and clean in set(lineage["id"])
    assert dict(led.dropped) == {"decontam/contaminated": 1}
    assert led.seen == len(ids) == led.kept + 1
    assert led.extra["train_documents"] + led.extra["valid_documents"] == led.kept
    assert led.extra["valid_documents"] == split.assign(ids, SEED, FRACTION).count("valid")  # held-out untouched
    assert led.chars_dropped["decontam/contaminated"] == len(texts[ids.index(contaminated)])
    ledger.Ledger.check(led)


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


def test_tokenize_verb_checks_every_sources_held_out_documents(tok, tmp_path, cfg):
    """A wiki training document copying a crawl held-out document is dropped; dropped.parquet and the
    ledger beside it agree; with decontam disabled it is kept."""
    crawl_ids, crawl_texts = _corpus("crawl")
    wiki_ids, wiki_texts = _corpus("wiki")
    held = split.held_out(crawl_ids, crawl_texts, cfg.seed, cfg.split.valid_fraction)[0].split()
    victim = split.assign(wiki_ids, cfg.seed, cfg.split.valid_fraction).index("train")
    wiki_texts[victim] += " " + " ".join(held[:13])
    paths = {}
    for source, ids, texts in (("crawl", crawl_ids, crawl_texts), ("wiki", wiki_ids, wiki_texts)):
        paths[source] = tmp_path / f"{source}.parquet"
        _frame(source, ids, texts).write_parquet(paths[source])
    bpe.save(tok, tmp_path / "tok.json")
    for enabled in (True, False):
        out = tmp_path / f"tokens-{enabled}"
        blob = config.slice_json(cfg, "seed", "split", "decontam").replace('"enabled":true',
                                                                           f'"enabled":{str(enabled).lower()}')
        assert cli.main(["tokenize", "--cfg", blob, "--source", "wiki", "--inputs", str(paths["wiki"]),
                         "--heldout", str(paths["crawl"]), str(paths["wiki"]), "--tokenizer",
                         str(tmp_path / "tok.json"), "--out-dir", str(out)]) == 0
        stats, dropped = ledger.load(out / "stats.json"), pl.read_parquet(out / "dropped.parquet")
        assert stats["seen"] == len(wiki_ids) == stats["kept"] + sum(stats["dropped"].values())
        if enabled:
            assert dropped["id"].to_list() == [wiki_ids[victim]] and stats["dropped"] == {"decontam/contaminated": 1}
            assert set(dropped.columns) >= {"id", "url", "reason", "text"}
        else:
            assert dropped.height == 0 and stats["dropped"] == {}
