"""Golden decisions of datatrove 0.10.1's heuristic filters, for tests/curate/test_parity.py.

Two steps, in two environments (datatrove's venv cannot import lmsci's extractor)::

    .venv/bin/python scripts/datatrove_golden.py --extract-docs /tmp/docs.jsonl   # lmsci's extractor
    .venv-bench/bin/python scripts/datatrove_golden.py --docs /tmp/docs.jsonl     # datatrove 0.10.1 + spaCy 3.8
    .venv-bench/bin/python scripts/datatrove_golden.py --tables   # only the tables (1 and 2 below)

1. ``lmsci/curate/data/spacy_en.json``: the tables of ``spacy.blank("en")``'s tokenizer (prefix,
   suffix, infix and URL regexes, special cases) and the sentencizer's punctuation, which
   :mod:`lmsci.curate.words` replays without importing spaCy (spaCy is MIT-licensed).
2. ``lmsci/curate/data/datatrove_text.json``: datatrove's PUNCTUATION_SET (a word made only of
   these is a symbol for Gopher quality) and TERMINAL_PUNCTUATION (FineWeb's line ends), as data
   (datatrove is Apache-2.0).
3. ``tests/curate/golden/datatrove.jsonl.gz``: one row per document of the sample crawl
   (``data/sample/crawl/*.warc.gz``, extracted by lmsci's extractor with the default config, read
   from the ``--docs`` JSONL the caller writes with lmsci's .venv: id, url, text per line), with its text, the decision of each
   filter run alone on it (``keep`` or datatrove's drop reason) and a digest of spaCy's English
   tokens (count + sha1 of the NUL-joined tokens), so the test needs neither extraction nor spaCy.

The filters get lmsci's default thresholds (config.yaml), which are datatrove's defaults except
FineWeb's duplicated-line character ratio (the paper's 0.1; datatrove's default is 0.01).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TABLES = ROOT / "lmsci/curate/data/spacy_en.json"
PUNCT = ROOT / "lmsci/curate/data/datatrove_text.json"
GOLDEN = ROOT / "tests/curate/golden/datatrove.jsonl.gz"


def spacy_tables() -> dict:
    import spacy
    from spacy.pipeline import Sentencizer
    from spacy.symbols import ORTH

    nlp = spacy.blank("en")
    tok = nlp.tokenizer
    assert tok.token_match is None, "lmsci.curate.words assumes no token_match for English"
    return {
        "spacy": spacy.__version__,
        "prefix": tok.prefix_search.__self__.pattern,
        "suffix": tok.suffix_search.__self__.pattern,
        "infix": tok.infix_finditer.__self__.pattern,
        "url": tok.url_match.__self__.pattern,
        "faster_heuristics": tok.faster_heuristics,
        "special": {k: [t[ORTH] for t in v] for k, v in sorted(tok.rules.items())},
        "punct_chars": sorted(Sentencizer.default_punct_chars),
    }


def datatrove_text() -> dict:
    import datatrove
    from datatrove.utils.text import PUNCTUATION_SET, TERMINAL_PUNCTUATION

    return {"datatrove": datatrove.__version__ if hasattr(datatrove, "__version__") else "0.10.1",
            "punctuation": "".join(sorted(PUNCTUATION_SET)), "terminal_punctuation": "".join(sorted(TERMINAL_PUNCTUATION))}


def golden(docs_path: Path) -> None:
    import gzip

    import spacy
    from datatrove.data import Document
    from datatrove.pipeline.filters import (C4QualityFilter, FineWebQualityFilter, GopherQualityFilter,
                                            GopherRepetitionFilter)

    nlp = spacy.blank("en")
    filters = {
        "gopher_quality": GopherQualityFilter(),
        "gopher_repetition": GopherRepetitionFilter(),
        "c4": C4QualityFilter(),
        "fineweb": FineWebQualityFilter(char_duplicates_ratio=0.1),
    }
    docs = sorted((json.loads(line) for line in docs_path.read_text(encoding="utf-8").splitlines()),
                  key=lambda d: d["id"])
    rows = []
    for d in docs:
        doc_id, url, text = d["id"], d["url"], d["text"]
        row = {"id": doc_id, "url": url, "text": text}
        for name, f in filters.items():
            res = f.filter(Document(text=text, id=doc_id))  # C4 rewrites doc.text: a fresh Document each
            ok, reason = res if isinstance(res, tuple) else (res, None)
            row[name] = "keep" if ok else reason
        tokens = [t.text.strip() for t in nlp(text) if t.text.strip()]  # datatrove's strip_strings
        row["en_tokens"] = len(tokens)
        row["en_tokens_sha1"] = hashlib.sha1("\0".join(tokens).encode()).hexdigest()
        rows.append(row)
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    body = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows).encode()
    GOLDEN.write_bytes(gzip.compress(body, compresslevel=9, mtime=0))  # mtime 0: byte-identical reruns
    print(f"{GOLDEN.relative_to(ROOT)}: {len(rows)} documents, {GOLDEN.stat().st_size} bytes")


def extract_docs(out: Path) -> None:
    """The sample crawl's documents as lmsci extracts them (default config), one JSON object a line."""
    sys.path.insert(0, str(ROOT))
    from lmsci.config import ExtractConfig
    from lmsci.crawl.extract import extract_shard

    rows = []
    for path in sorted((ROOT / "data/sample/crawl").glob("*.warc.gz")):
        docs = extract_shard("crawl", path, ExtractConfig())[0]
        rows += docs.select("id", "url", "text").to_dicts()
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in sorted(rows, key=lambda r: r["id"])),
                   encoding="utf-8")
    print(f"{out}: {len(rows)} documents")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--extract-docs", type=Path, metavar="JSONL", help="step 1 (lmsci's .venv): extract the sample")
    p.add_argument("--tables", action="store_true", help="only write the spaCy tables")
    p.add_argument("--docs", type=Path, help="extracted sample crawl (JSONL: id, url, text)")
    a = p.parse_args()
    if a.extract_docs:
        return extract_docs(a.extract_docs)
    TABLES.parent.mkdir(parents=True, exist_ok=True)
    TABLES.write_text(json.dumps(spacy_tables(), ensure_ascii=False, indent=0, sort_keys=True) + "\n",
                      encoding="utf-8")
    PUNCT.write_text(json.dumps(datatrove_text(), ensure_ascii=False, indent=0, sort_keys=True) + "\n",
                     encoding="utf-8")
    print(f"{TABLES.relative_to(ROOT)}, {PUNCT.relative_to(ROOT)} written")
    if not a.tables:
        if a.docs is None:
            sys.exit("datatrove_golden: --docs PARQUET is required (extract the sample crawl with lmsci first)")
        golden(a.docs)


if __name__ == "__main__":
    main()
