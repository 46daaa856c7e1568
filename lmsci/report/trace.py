"""``lmsci trace``: a training token → its document, WARC record (or JSONL line) and filter verdicts.

The chain, each link read from a file the pipeline wrote:

    (step, sample, position) ── global sample = step × global_batch_size + sample (megatron's sampler order)
      └─ BlendedDataset / GPTDataset indices (train/dataset_cache, rebuilt from the seed if absent)
           → (indexed dataset, document index, token offset)           lmsci.train.adapter.sample_pieces
      └─ tokens/<source>/<shard>/documents.parquet (beside the prefix; <shard> is `merged` with
         tokenize.merge): (split "train", index) → document id
      └─ id = <source>/<shard>/<byte offset> → the shard file named in the config, re-read at that offset
      └─ filter/<source>/<shard>.parquet: the attributes tagged on the document, re-decided with the config
"""
from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from lmsci import config as C
from lmsci.crawl.documents import shard_name
from lmsci.tokenize import bpe, indexed
from lmsci.train import adapter
from lmsci.train.loop import read_blend, read_meta

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT_COLUMNS = ("id", "source", "shard", "offset", "record_id", "url", "text")
CONTEXT = 8  # tokens either side of the traced one in the decoded context


class TraceError(RuntimeError):
    """The token cannot be traced: one line naming the argument or file to fix."""


def _stage_of(results: Path, step: int, stage: str) -> tuple[str, int, int]:
    """A recipe (train/stages.json): ``--stage`` given, or ``step`` counted over the whole recipe (the
    combined metrics.jsonl's ``step``) → (stage, its own step, its first recipe step); a run without
    stages → ("", step, 0)."""
    path = Path(results) / "train" / "stages.json"
    if not path.is_file():
        if stage:
            raise TraceError(f"--stage {stage}: {results} holds no recipe (no train/stages.json)")
        return "", step, 0
    stages = json.loads(path.read_text())["stages"]
    if stage:
        if stage not in [s["name"] for s in stages]:
            raise TraceError(f"--stage {stage}: not a stage of this recipe ({', '.join(s['name'] for s in stages)})")
        return stage, step, next(s["first_step"] for s in stages if s["name"] == stage)
    for s in stages:
        if s["first_step"] <= step < s["first_step"] + s["steps"]:
            return s["name"], step - s["first_step"], s["first_step"]
    total = stages[-1]["first_step"] + stages[-1]["steps"]
    raise TraceError(f"--step {step} is out of range: the recipe has {total} (0 … {total - 1})")


class _Run:
    """What a finished run's (or recipe stage's) checkpoint says about its data order: enough to
    rebuild any sample. A stage's data is its own: its blend (train/stages/<name>/blend.json) and seed."""

    def __init__(self, results: Path, root: Path, stage: str = ""):
        self.results = Path(results)
        train_dir = self.results / "train" / "stages" / stage if stage else self.results / "train"
        blend = train_dir / "blend.json" if stage else self.results / "mix" / "blend.json"
        self.stage, self.cache = stage, train_dir / "dataset_cache"
        self.meta = read_meta(train_dir / "checkpoint")
        self.model = C.ModelConfig(**self.meta["model"])
        self.steps, self.batch = self.meta["train"]["steps"], self.meta["train"]["global_batch_size"]
        self.blend = read_blend(blend, self.model)
        self.sources = {_prefix(e["prefix"], root): e["source"] for e in self.blend["train"]}

    def pieces(self, global_samples: list[int]) -> list[list[tuple[str, int, int, int]]]:
        """Per global sample: (indexed-dataset prefix, document index, first token, end token) pieces."""
        with adapter.distributed(1, 1, self.meta["seed"]):
            dataset = adapter.build_train_dataset(
                [(p, e["weight"]) for p, e in zip(self.sources, self.blend["train"])],
                adapter.Tokenizer(vocab_size=self.blend["vocab_size"], eod=self.blend["eod"]),
                self.model.seq_length, num_samples=self.steps * self.batch, seed=self.meta["seed"],
                cache_dir=self.cache)
            return [adapter.sample_pieces(dataset, g) for g in global_samples]

    def check(self, name: str, value: int, limit: int) -> None:
        if not 0 <= value < limit:
            raise TraceError(f"{name} {value} is out of range: the run has {limit} (0 … {limit - 1})")


def trace(results: Path, cfg: C.Config, step: int, sample: int, position: int, root: Path = ROOT,
          stage: str = "") -> dict:
    """Where input token ``position`` of sample ``sample`` in optimizer step ``step`` came from (in a
    recipe: of ``stage``, or ``step`` counted over the whole recipe)."""
    stage, step, first_step = _stage_of(results, step, stage)
    run = _Run(results, root, stage)
    run.check("--step", step, run.steps)
    run.check("--sample", sample, run.batch)
    run.check("--position", position, run.model.seq_length)
    global_sample = step * run.batch + sample
    (pieces,) = run.pieces([global_sample])
    offset = position
    for prefix, doc_index, first, end in pieces:
        if offset < end - first:
            break
        offset -= end - first
    else:
        raise TraceError(f"position {position} of sample {global_sample} is padding, not a document token")
    sources, token_index = run.sources, first + offset
    out = {"step": step, "sample": sample, "position": position, "global_sample": global_sample,
           **({"stage": stage, "recipe_step": first_step + step} if stage else {}),
           "sample_pieces": [{"source": sources[p], "document_index": d, "first": a, "end": b}
                             for p, d, a, b in pieces]}
    out["token"] = _token(run.results, prefix, doc_index, token_index, run.blend["eod"])
    out["source"], out["document_index"], out["token_in_document"] = sources[prefix], doc_index, token_index
    doc_id = _document_id(Path(prefix).parent / "documents.parquet", doc_index)
    out["document"] = _origin(run.results, cfg, doc_id, root)
    out["filters"] = _filters(run.results, cfg, out["document"])
    return out


def batch(results: Path, step: int, root: Path = ROOT, stage: str = "") -> dict:
    """Pythia's batch viewer: the exact tokens of every sample of optimizer step ``step`` and the
    document ids they were cut from."""
    stage, step, _ = _stage_of(results, step, stage)
    run = _Run(results, root, stage)
    run.check("--step", step, run.steps)
    tok = bpe.load(run.results / "tokenizer" / "tokenizer.json")
    samples = []
    for i, pieces in enumerate(run.pieces([step * run.batch + i for i in range(run.batch)])):
        ids, docs = [], []
        for prefix, doc_index, first, end in pieces:
            ids += indexed.document(prefix, doc_index)[first:end].tolist()
            docs.append({"source": run.sources[prefix], "first": first, "end": end,
                         "id": _document_id(Path(prefix).parent / "documents.parquet", doc_index)})
        samples.append({"sample": i, "tokens": ids, "text": tok.decode(ids, skip_special_tokens=False),
                        "documents": docs})
    return {"step": step, "global_batch_size": run.batch, "samples": samples}


def _prefix(prefix: str, root: Path) -> str:
    """Blend prefixes are relative to where the workflow ran (the repository root) or absolute."""
    for p in (Path(prefix), root / prefix):
        if p.with_name(p.name + ".idx").is_file():
            return str(p)
    raise TraceError(f"indexed dataset not found: {prefix}.idx (neither here nor under {root}); "
                     "run from the directory the workflow ran in")


def _token(results: Path, prefix: str, doc_index: int, token_index: int, eod: int) -> dict:
    tokens = indexed.document(prefix, doc_index)
    tok = bpe.load(results / "tokenizer" / "tokenizer.json")
    tid = int(tokens[token_index])
    lo, hi = max(0, token_index - CONTEXT), min(len(tokens), token_index + CONTEXT + 1)
    return {"id": tid, "text": tok.decode([tid], skip_special_tokens=False), "is_eod": tid == eod,
            "context": tok.decode(tokens[lo:hi].tolist(), skip_special_tokens=False),
            "document_tokens": len(tokens)}


def _document_id(lineage: Path, doc_index: int) -> str:
    if not lineage.is_file():
        raise TraceError(f"lineage table not found: {lineage}; rerun the tokenize stage")
    rows = pl.read_parquet(lineage).filter((pl.col("split") == "train") & (pl.col("index") == doc_index))
    if rows.height != 1:
        raise TraceError(f"{lineage} has {rows.height} train rows with index {doc_index} (expected 1); "
                         "rerun the tokenize stage")
    return rows["id"][0]


def _origin(results: Path, cfg: C.Config, doc_id: str, root: Path) -> dict:
    """Parse the id, find its shard file in the config and re-read the record there."""
    from lmsci.crawl import extract, jsonl

    source, shard, offset = doc_id.rsplit("/", 2)
    src = cfg.sources.get(source)
    files = {shard_name(p): p for p in src.paths} if src else {}
    if shard not in files:
        raise TraceError(f"document {doc_id}: shard '{shard}' of source '{source}' is not in the config's "
                         "sources; pass the config files the run used (--configfile)")
    from lmsci.crawl.remote import is_url
    given = files[shard]  # a local path (relative to the repository) or an fsspec URL, read as a stream
    path = given if is_url(given) else Path(given) if Path(given).is_absolute() else root / given
    record = (extract.record_at(path, int(offset), cfg.extract) if src.kind == "warc"
              else jsonl.line_at(path, int(offset)))
    # What extraction stored then vs. what the record gives today (later stages may redact the text).
    stored = pl.read_parquet(results / "extract" / source / f"{shard}.parquet").filter(pl.col("id") == doc_id)
    text = stored["text"][0] if stored.height else None
    return {"id": doc_id, "source": source, "shard": shard, "kind": src.kind, "file": str(path),
            "offset": int(offset), "record_id": record["record_id"], "url": record["url"],
            "text_chars": len(record["text"]), "text_matches_record": text == record["text"]}


def _filters(results: Path, cfg: C.Config, doc: dict) -> dict:
    """The attributes tagged on the document and each configured filter's verdict on them today."""
    from lmsci.curate.registry import FILTERS, prefix, section

    path = results / "filter" / doc["source"] / f"{doc['shard']}.parquet"
    if not path.is_file():
        raise TraceError(f"filter output not found: {path}; rerun the filter stage")
    rows = pl.read_parquet(path).filter(pl.col("id") == doc["id"])
    if rows.height != 1:
        raise TraceError(f"{path} does not hold document {doc['id']}; results are out of step, rerun the workflow")
    attrs = {k: v for k, v in rows.row(0, named=True).items() if k not in DOCUMENT_COLUMNS}
    verdicts = {}
    for name in cfg.sources[doc["source"]].filters:
        pre = prefix(name)
        mine = {k[len(pre):]: v for k, v in attrs.items() if k.startswith(pre)} if pre else attrs
        reason = FILTERS[name].decide(mine, section(cfg, name))
        verdicts[name] = "keep" if reason is None else f"drop: {reason}"
    return {"attributes": attrs, "decisions": verdicts, "dedup": "kept"}  # it reached the tokens
