"""Byte-level BPE trained in the pipeline; documents written as Megatron indexed datasets."""
