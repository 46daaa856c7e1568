"""Per-document loss of one trained variant on the ablation's evaluation set.

Each source's evaluation documents are scored as :mod:`lmsci.evaluate.perplexity` scores a source
(concatenated in order with their EOD tokens, non-overlapping windows of ``seq_length`` + 1, a leading
EOD so a document's first token is predicted as in training), but every predicted token's NLL is
kept and summed per document: the paired bootstrap (lmsci.ablation.stats) resamples documents.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from lmsci.io import write_parquet

SCHEMA = {"id": pl.String, "source": pl.String, "tokens": pl.Int64, "nll": pl.Float64}


def document_nll(token_nll: np.ndarray, lengths: list[int]) -> np.ndarray:
    """Sum of the per-token NLLs of each document (``lengths`` tokens each, in order)."""
    if sum(lengths) != len(token_nll):
        raise ValueError(f"{len(token_nll)} scored tokens but the documents hold {sum(lengths)}")
    ends = np.cumsum(lengths)
    return np.array([token_nll[e - n:e].sum(dtype=np.float64) for e, n in zip(ends, lengths)])


def _token_nll(module, tokens, seq_length: int, batch_size: int) -> np.ndarray:
    """NLL of tokens[1:] given what precedes each (windows of ``seq_length``), as float64."""
    import torch

    from lmsci.train import adapter

    n_pred, out = len(tokens) - 1, []
    full = n_pred // seq_length
    with torch.no_grad():
        for first in range(0, full, batch_size):
            rows = range(first, min(full, first + batch_size))
            inputs = torch.stack([tokens[r * seq_length:(r + 1) * seq_length] for r in rows])
            labels = torch.stack([tokens[r * seq_length + 1:(r + 1) * seq_length + 1] for r in rows])
            out.append(adapter.per_token_loss(module, inputs, labels).double().reshape(-1).numpy())
        if n_pred % seq_length:
            start = full * seq_length
            loss = adapter.per_token_loss(module, tokens[start:-1].unsqueeze(0), tokens[start + 1:].unsqueeze(0))
            out.append(loss.double().reshape(-1).numpy())
    return np.concatenate(out)


def score(model, train, eval_blend: dict, documents: pl.DataFrame, checkpoint_dir: Path, out: Path) -> pl.DataFrame:
    """Write ``out`` (id, source, tokens, nll) for every evaluation document, in (source, id) order."""
    import torch

    from lmsci.evaluate.perplexity import EvaluateError
    from lmsci.tokenize import indexed
    from lmsci.train import adapter, checkpoint
    from lmsci.train.loop import read_meta

    meta = read_meta(Path(checkpoint_dir))
    if not checkpoint.same_model(meta, model):
        raise EvaluateError(f"checkpoint {checkpoint_dir} was trained with another model than the configured one; "
                            "retrain or fix the model config")
    rows = []
    with adapter.distributed(1, 1, int(meta.get("seed", 0))):
        module = adapter.build_model(model, eval_blend["vocab_size"], 1, 1, wrap_ddp=False)
        adapter.load_checkpoint(Path(checkpoint_dir), module)
        module.eval()
        for entry in eval_blend["valid"]:
            src = entry["source"]
            docs = [d for p in entry["prefixes"] for d in indexed.documents(p)]
            ids = documents.filter(pl.col("source") == src).sort("id")["id"].to_list()
            if len(ids) != len(docs):
                raise EvaluateError(f"evaluation set of {src}: {len(ids)} documents listed but {len(docs)} tokenized; "
                                    "rebuild it (rule ablation_evalset)")
            flat = np.concatenate([[eval_blend["eod"]], *[np.asarray(d, dtype=np.int64) for d in docs]])
            nll = _token_nll(module, torch.from_numpy(flat.astype(np.int64)), model.seq_length,
                             train.micro_batch_size)
            lengths = [len(d) for d in docs]
            rows += [{"id": i, "source": src, "tokens": n, "nll": float(x)}
                     for i, n, x in zip(ids, lengths, document_nll(nll, lengths))]
    df = pl.DataFrame(rows, schema=SCHEMA, orient="row")
    write_parquet(out, df)
    return df
