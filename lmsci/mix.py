"""Source weights → the blend manifest the training stage reads (requested vs available tokens).

The manifest lists every shard's training dataset (``tokens/<source>/<shard>/train``), or with
``tokenize.merge`` each source's merged one (``tokens/<source>/merged/train``). A shard's weight is
its train tokens × the source weight / the source's train tokens, so megatron's BlendedDataset,
which normalises the weights, draws each source in proportion to its configured weight and each
shard of a source in proportion to its size (as if the source were one dataset). Shards without a
training document are left out (megatron cannot sample an empty dataset). ``valid`` lists, per
source, every shard's validation dataset in shard order: perplexity is scored per source.
"""
from __future__ import annotations

from collections import defaultdict

from lmsci.config import Config

MERGED = "merged"


def blend(cfg: Config, token_stats: list[dict], vocab_size: int, eod: int, tokens_dir: str) -> dict:
    """``token_stats``: the tokenize ledger of every shard. Epochs = requested / available train tokens."""
    t = cfg.train
    planned = t.steps * t.global_batch_size * cfg.model.seq_length
    shards: dict[str, list[dict]] = defaultdict(list)
    for led in token_stats:
        if led["source"] not in cfg.sources:
            raise ValueError(f"tokenize ledger of source '{led['source']}' (shard {led['shard']}) is not a "
                             "configured source; rerun the workflow with the config that made it")
        shards[led["source"]].append(led)
    merge = cfg.tokenize.merge
    rows, train, valid = [], [], []
    for name, src in sorted(cfg.sources.items()):
        if not shards[name]:
            raise ValueError(f"no tokenize ledger for source '{name}'; run the tokenize stage")
        mine = sorted(shards[name], key=lambda d: d["shard"])
        avail = sum(d["extra"]["train_tokens"] for d in mine)
        requested = src.weight * planned
        rows.append({"source": name, "weight": src.weight, "available_tokens": avail, "shards": len(mine),
                     "requested_tokens": round(requested), "epochs": round(requested / max(avail, 1), 3)})
        if merge:
            if avail:
                train.append({"source": name, "shard": MERGED, "prefix": f"{tokens_dir}/{name}/{MERGED}/train",
                              "weight": src.weight})
            valid.append({"source": name, "prefixes": [f"{tokens_dir}/{name}/{MERGED}/valid"]})
            continue
        train += [{"source": name, "shard": d["shard"], "prefix": f"{tokens_dir}/{name}/{d['shard']}/train",
                   "weight": src.weight * d["extra"]["train_tokens"] / avail}
                  for d in mine if d["extra"]["train_tokens"]]
        valid.append({"source": name, "prefixes": [f"{tokens_dir}/{name}/{d['shard']}/valid"
                                                   for d in mine if d["extra"]["valid_documents"]]})
    return {"vocab_size": vocab_size, "eod": eod, "seq_length": cfg.model.seq_length, "seed": cfg.seed,
            "planned_tokens": planned, "train": train, "valid": valid, "composition": rows}
