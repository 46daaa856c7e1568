"""lmsci: a declarative, reproducible LM-pretraining pipeline, from raw crawl to report."""

__version__ = "0.1.0"
