"""The run report: funnel, training curve, perplexity, provenance (Markdown and HTML)."""
