"""Raw sources to documents: WARC reading + main-content extraction, and JSONL sources."""
