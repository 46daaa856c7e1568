"""Evaluation of trained checkpoints: held-out perplexity per source."""
