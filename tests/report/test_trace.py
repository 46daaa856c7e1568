"""lmsci trace: a token the model trained on → the WARC record (or JSONL line) it was extracted from."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from fastwarc.warc import ArchiveIterator

from lmsci import cli
from lmsci.crawl.extract import extract_text
from lmsci.report.trace import TraceError, batch, trace
from lmsci.tokenize import indexed
from lmsci.train import adapter


@pytest.fixture(scope="module")
def samples(tiny_run) -> dict:
    """What training read for each global sample: ``dataset[i]`` and ``sample_pieces(dataset, i)``."""
    cfg, blend, results = tiny_run["cfg"], tiny_run["blend"], tiny_run["results"]
    with adapter.distributed(1, 1, cfg.seed):
        ds = adapter.build_train_dataset(
            [(e["prefix"], e["weight"]) for e in blend["train"]], adapter.Tokenizer(blend["vocab_size"], blend["eod"]),
            cfg.model.seq_length, cfg.train.steps * cfg.train.global_batch_size, cfg.seed,
            results / "train/dataset_cache")
        n = cfg.train.steps * cfg.train.global_batch_size
        return {i: (np.append(ds[i]["tokens"], ds[i]["labels"][-1]), adapter.sample_pieces(ds, i)) for i in range(n)}


def test_sample_pieces_are_exactly_the_tokens_training_read(samples, tiny_run):
    sources = set()
    for i, (tokens, pieces) in samples.items():
        cut = np.concatenate([indexed.document(p, d)[a:b] for p, d, a, b in pieces])
        assert cut.tolist() == tokens.tolist(), f"sample {i}"
        sources |= {Path(p).parent.parent.name for p, *_ in pieces}  # tokens/<source>/<shard>/train
    assert sources == set(tiny_run["cfg"].sources)  # the blend really mixed them all


def _decodable(tok, tid: int) -> bool:
    text = tok.decode([tid])
    return bool(text.strip()) and "\ufffd" not in text


def test_random_tokens_trace_back_to_their_records(samples, tiny_run):
    from lmsci.tokenize import bpe

    cfg, results = tiny_run["cfg"], tiny_run["results"]
    tok = bpe.load(results / "tokenizer/tokenizer.json")
    gbs, seq = cfg.train.global_batch_size, cfg.model.seq_length
    rng, seen = np.random.default_rng(0), {}
    while set(seen) != {"warc", "jsonl"}:
        g, position = int(rng.integers(len(samples))), int(rng.integers(seq))
        tid = int(samples[g][0][position])
        if tid == tiny_run["blend"]["eod"] or not _decodable(tok, tid):
            continue
        out = trace(results, cfg, g // gbs, g % gbs, position)
        assert out["global_sample"] == g and out["token"]["id"] == tid  # the token the model was fed
        if "<" not in out["token"]["context"]:  # not next to EOD or a PII placeholder ("<EMAIL>")
            seen.setdefault(out["document"]["kind"], out)

    warc = seen["warc"]
    doc = warc["document"]
    assert doc["id"] == f"crawl/{doc['shard']}/{doc['offset']:012d}" and doc["text_matches_record"]
    with open(doc["file"], "rb") as f:  # independent re-read: seek to the offset, parse, extract again
        f.seek(doc["offset"])
        rec = next(iter(ArchiveIterator(f, parse_http=True)))
        text = extract_text(rec.reader.read(), rec.http_charset, cfg.extract)
    assert rec.record_id == doc["record_id"] and rec.headers["WARC-Target-URI"] == doc["url"]
    assert warc["token"]["text"] in text and warc["token"]["context"] in text
    extracted = pl.read_parquet(results / "extract/crawl" / f"{doc['shard']}.parquet").filter(pl.col("id") == doc["id"])
    assert extracted["record_id"][0] == doc["record_id"]
    f = warc["filters"]
    assert f["decisions"] == {name: "keep" for name in cfg.sources["crawl"].filters} and f["dedup"] == "kept"
    assert "gopher_quality" in f["decisions"] and f["attributes"]["gopher_n_words"] >= 50
    assert f["attributes"]["lang"] == "en"

    wiki = seen["jsonl"]
    assert wiki["source"] in ("wiki", "code")
    assert wiki["filters"]["decisions"] == {name: "keep" for name in cfg.sources[wiki["source"]].filters}
    assert wiki["document"]["text_matches_record"]


def test_cli_prints_the_trace_as_json(tiny_run, capsys):
    capsys.readouterr()
    argv = ["trace", "--step", "1", "--sample", "2", "--position", "5", "--configfile", *tiny_run["config_files"]]
    assert cli.main(argv) == 0  # --results defaults to the config's
    out = json.loads(capsys.readouterr().out)
    assert out["global_sample"] == 1 * tiny_run["cfg"].train.global_batch_size + 2
    assert Path(out["document"]["file"]).is_file() and out["document"]["id"].startswith(out["source"] + "/")


@pytest.mark.parametrize("step,sample,position,name",
                         [(6, 0, 0, "--step"), (0, 4, 0, "--sample"), (0, 0, 64, "--position")])
def test_out_of_range_names_the_argument(tiny_run, step, sample, position, name):
    with pytest.raises(TraceError, match=f"^{name} .* out of range"):
        trace(tiny_run["results"], tiny_run["cfg"], step, sample, position)


def test_batch_shows_exactly_the_tokens_of_each_sample_of_a_step(samples, tiny_run):
    step = 2
    out = batch(tiny_run["results"], step)
    b = tiny_run["cfg"].train.global_batch_size
    assert [smp["sample"] for smp in out["samples"]] == list(range(b))
    for smp in out["samples"]:
        tokens, pieces = samples[step * b + smp["sample"]]
        assert smp["tokens"] == tokens.tolist()
        for doc, (prefix, doc_index, first, end) in zip(smp["documents"], pieces, strict=True):
            assert Path(prefix).parent.parent.name == doc["source"]
            lineage = pl.read_parquet(Path(prefix).parent / "documents.parquet")  # the shard's, beside its .bin
            rows = lineage.filter((pl.col("split") == "train") & (pl.col("index") == doc_index))
            assert doc["id"] == rows["id"][0] and (doc["first"], doc["end"]) == (first, end)


def test_batch_cli_prints_document_ids_and_text(tiny_run, capsys):
    capsys.readouterr()
    assert cli.main(["batch", "--step", "0", "--configfile", *tiny_run["config_files"]]) == 0
    out = capsys.readouterr().out
    assert out.count("--- step 0 sample ") == tiny_run["cfg"].train.global_batch_size
