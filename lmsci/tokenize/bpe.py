"""Train a byte-level BPE tokenizer (HF ``tokenizers``) on the curated corpus.

The end-of-document token is id 0 (the first special token), so every source ends its
documents with the same id the training loop masks on.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from lmsci.config import TokenizerConfig
from lmsci.io import atomic_path

EOD = "<|endoftext|>"


def train(texts: Iterable[str], cfg: TokenizerConfig) -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=cfg.vocab_size, min_frequency=cfg.min_frequency, special_tokens=[EOD],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return tok


def sample(texts_by_source: dict[str, Iterable[str]], max_chars: int) -> Iterable[str]:
    """Up to ``max_chars`` per source, in the given (document-id) order: deterministic."""
    for name in sorted(texts_by_source):
        budget = max_chars
        for text in texts_by_source[name]:
            if budget <= 0:
                break
            yield text[:budget]
            budget -= len(text)


def save(tok: Tokenizer, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        tok.save(str(tmp))


def load(path: str | Path) -> Tokenizer:
    return Tokenizer.from_file(str(path))


def eod_id(tok: Tokenizer) -> int:
    return tok.token_to_id(EOD)
