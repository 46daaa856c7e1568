"""Source weights → the blend manifest the training stage reads (requested vs available tokens).

The manifest lists every shard's training dataset (``tokens/<source>/<shard>/train``), or with
``tokenize.merge`` each source's merged one (``tokens/<source>/merged/train``). A shard's weight is
its train tokens × the source weight / the source's train tokens, so megatron's BlendedDataset,
which normalises the weights, draws each source in proportion to its configured weight and each
shard of a source in proportion to its size (as if the source were one dataset). Shards without a
training document are left out (megatron cannot sample an empty dataset). ``valid`` lists, per
source, every shard's validation dataset in shard order: perplexity is scored per source.

A recipe stage (``train.stages``, :func:`blend` with ``stage=``) gets its own manifest over the same
token files: the stage's weights (its mix blended with the sources' by ``replay``,
:func:`lmsci.conf.train.stage_weights`), seq_length (GPTDataset packs the same documents to the new
length) and planned tokens; a source weighted 0 in a stage is left out of its ``train`` list, never
out of ``valid`` (forgetting is measured on every source).
"""
from __future__ import annotations

from collections import defaultdict

from lmsci.config import Config

MERGED = "merged"


def blend(cfg: Config, token_stats: list[dict], vocab_size: int, eod: int, tokens_dir: str, stage: str = "") -> dict:
    """``token_stats``: the tokenize ledger of every shard. Epochs = requested / available train tokens."""
    t, seq_length = cfg.train, cfg.model.seq_length
    weights = {name: src.weight for name, src in cfg.sources.items()}
    steps = t.steps
    if stage:
        from lmsci.conf.train import stage_weights
        st = next((s for s in t.stages if s.name == stage), None)
        if st is None:
            raise ValueError(f"no stage '{stage}' in train.stages; choose from {', '.join(s.name for s in t.stages)}")
        weights, steps, seq_length = stage_weights(st, cfg.sources), st.steps, st.seq_length or seq_length
    planned = steps * t.global_batch_size * seq_length
    shards: dict[str, list[dict]] = defaultdict(list)
    for led in token_stats:
        if led["source"] not in cfg.sources:
            raise ValueError(f"tokenize ledger of source '{led['source']}' (shard {led['shard']}) is not a "
                             "configured source; rerun the workflow with the config that made it")
        shards[led["source"]].append(led)
    merge = cfg.tokenize.merge
    rows, train, valid = [], [], []
    for name in sorted(cfg.sources):
        if not shards[name]:
            raise ValueError(f"no tokenize ledger for source '{name}'; run the tokenize stage")
        mine = sorted(shards[name], key=lambda d: d["shard"])
        avail = sum(d["extra"]["train_tokens"] for d in mine)
        weight = weights[name]
        requested = weight * planned
        rows.append({"source": name, "weight": weight, "available_tokens": avail, "shards": len(mine),
                     "requested_tokens": round(requested), "epochs": round(requested / max(avail, 1), 3)})
        if merge:
            if avail and weight:
                train.append({"source": name, "shard": MERGED, "prefix": f"{tokens_dir}/{name}/{MERGED}/train",
                              "weight": weight})
            valid.append({"source": name, "prefixes": [f"{tokens_dir}/{name}/{MERGED}/valid"]})
            continue
        train += [{"source": name, "shard": d["shard"], "prefix": f"{tokens_dir}/{name}/{d['shard']}/train",
                   "weight": weight * d["extra"]["train_tokens"] / avail}
                  for d in mine if d["extra"]["train_tokens"] and weight]
        valid.append({"source": name, "prefixes": [f"{tokens_dir}/{name}/{d['shard']}/valid"
                                                   for d in mine if d["extra"]["valid_documents"]]})
    out = {"vocab_size": vocab_size, "eod": eod, "seq_length": seq_length, "seed": cfg.seed,
           "planned_tokens": planned, "train": train, "valid": valid, "composition": rows}
    return out | ({"stage": stage} if stage else {})
