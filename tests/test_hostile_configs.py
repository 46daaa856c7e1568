"""Issue 11: malformed and malicious config overlays are refused before the first job, in one line
that names the key (or file) and the fix — through ``lmsci.config.load`` (what ``lmsci run`` calls
first) and through the Snakefile (common.smk calls ``lmsci.config.from_workflow``, tested here on
real ``snakemake -n`` runs of representative cases: tests/test_config_snakefile.py)."""
from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from lmsci import config as C

ROOT = Path(__file__).resolve().parents[1]
# What each message must offer besides the key: a way out ("must …", "choose from …", "remove …").
FIX_WORDS = ("must", "expected", "choose", "remove", "give", "use ", "write", "list", "fix", "keep", "add",
             "save", "name", "mean", "spelling", "convert", "fetch", "make", "lower", "point", "indent", "not valid YAML")


def _files(tmp: Path) -> dict[str, str]:
    """Damaged and mislabelled files the overlays point at (absolute paths)."""
    (tmp / "latin1.txt").write_bytes("caf\xe9 au lait\n".encode("latin-1"))
    (tmp / "ok.jsonl").write_text('{"text": "a"}\n')
    whole = gzip.compress(b'{"text": "a benchmark text"}\n' * 2000)
    (tmp / "cut.jsonl.gz").write_bytes(whole[: len(whole) // 2])
    (tmp / "notext.jsonl").write_text('{"txt": "a"}\n')
    (tmp / "plain.warc.gz").write_bytes(gzip.compress(b'{"id": "x", "text": "y"}\n'))
    (tmp / "docs.jsonl.gz").write_bytes(gzip.compress(b"WARC/1.0\r\nWARC-Type: warcinfo\r\n\r\n"))
    (tmp / "html.warc").write_bytes(b"<html><body>not a warc</body></html>")
    return {k: str(tmp / k) for k in ("latin1.txt", "ok.jsonl", "cut.jsonl.gz", "notext.jsonl", "plain.warc.gz",
                                      "docs.jsonl.gz", "html.warc")}


# (case id, overlay text with {file} placeholders, what the one line must contain)
CASES = [
    # -- where the run writes: inside the project, or an absolute path given on purpose
    ("results-empty", "results: ''", "'results'"),
    ("results-root", "results: /", "'results'"),
    ("results-dotdot", "results: ../../..", "'results'"),
    ("results-dot", "results: .", "'results'"),
    ("results-parent-of-project", "results: {parent}", "'results'"),
    ("results-project", "results: {root}", "'results'"),
    ("results-tilde", "results: ~/scratch", "'results'"),
    ("results-in-sources", "results: lmsci/out", "'results'"),
    ("results-in-git", "results: ./.git", "'results'"),
    ("results-wildcard", "results: 'out{{x}}'", "'results'"),
    ("results-escape", 'results: "out\\e[2J"', "'results'"),
    ("run-dotdot", "run: ../../..", "'run'"),
    ("run-empty", "run: ''", "'run'"),
    ("run-absolute", "run: /tmp/x", "'run'"),
    ("run-inner-dotdot", "run: a/../../b", "'run'"),
    # -- YAML itself
    ("dup-top", "seed: 1\nseed: 2", "given twice"),
    ("dup-nested", "extract:\n  max_bytes: 10\n  max_bytes: 20", ":3:3: key 'max_bytes' is given twice"),
    ("yte", "__use_yte__: true\nseed: ?1+1", "'__use_yte__'"),
    ("yte-definitions", "__definitions__: [import os]", "'__definitions__'"),
    ("top-list", "- seed\n- 1", "top level must be a mapping"),
    ("top-scalar", "just words", "top level must be a mapping"),
    ("tab-indent", "extract:\n\tmax_bytes: 10", ":2:1: not valid YAML"),
    ("bad-indent", "extract:\n  max_bytes: 10\n max_chars: 2", ":3:"),
    ("unclosed", "extract: {max_bytes: 1", "not valid YAML"),
    ("alias", "a: &x 1\nseed: *x", "aliases"),
    ("python-tag", "seed: !!python/object/apply:os.system [id]", "not valid YAML"),
    ("complex-key", "? [a, b]\n: 1", "plain value"),
    ("invisible-key", "se\u200bed: 1", "se\\u200bed"),
    ("escape-key", 'extract:\n  "max\\e[31mbytes": 1', "max\\x1b[31mbytes"),
    ("unknown-top", "sed: 1", "'sed'"),
    ("unknown-nested", "extract:\n  max_byte: 1", "'extract.max_byte'"),
    ("int-key", "1: 2", "not a string"),
    ("escape-source-name", 'sources: {{"we\\e[2Jb": {{paths: [x.warc.gz], weight: 0.1}}}}',
     "'sources.we\\x1b[2Jb.kind'"),
    # -- seeds, numbers, sizes
    ("seed-negative", "seed: -1", "'seed'"),
    ("seed-2^32", "seed: 4294967296", "'seed'"),
    ("seed-float", "seed: 1.5", "'seed'"),
    ("seed-nan", "seed: .nan", "'seed'"),
    ("seed-bool", "seed: true", "'seed'"),
    ("max-bytes-1e12", "extract: {{max_bytes: 1000000000000}}", "'extract.max_bytes'"),
    ("max-bytes-zero", "extract: {{max_bytes: 0}}", "'extract.max_bytes'"),
    ("max-bytes-string", "extract: {{max_bytes: 1e12}}", "'extract.max_bytes'"),
    ("timeout-inf", "extract: {{timeout_s: .inf}}", "'extract.timeout_s'"),
    ("timeout-negative", "extract: {{timeout_s: -1}}", "'extract.timeout_s'"),
    ("min-chars-negative", "extract: {{min_chars: -1}}", "'extract.min_chars'"),
    ("vocab-1e9", "tokenizer: {{vocab_size: 1000000000}}", "'tokenizer.vocab_size'"),
    ("vocab-small", "tokenizer: {{vocab_size: 100}}", "'tokenizer.vocab_size'"),
    ("min-frequency-negative", "tokenizer: {{min_frequency: -1}}", "'tokenizer.min_frequency'"),
    ("sample-chars-zero", "tokenizer: {{sample_chars: 0}}", "'tokenizer.sample_chars'"),
    ("weight-nan", "sources: {{crawl: {{weight: .nan}}}}", "'sources.crawl.weight'"),
    ("weight-negative", "sources: {{crawl: {{weight: -0.5}}, wiki: {{weight: 1.3}}}}", "'sources.crawl.weight'"),
    ("weights-sum", "sources: {{crawl: {{weight: 0.9}}}}", "'sources.*.weight'"),
    ("minhash-seed-negative", "minhash: {{seed: -1}}", "'minhash.seed'"),
    ("minhash-permutations", "minhash: {{permutations: 100}}", "'minhash.permutations'"),
    ("minhash-threshold", "minhash: {{threshold: 1.5}}", "'minhash.threshold'"),
    ("beta1-one", "train: {{adam_beta1: 1.0}}", "'train.adam_beta1'"),
    ("beta2-above", "train: {{adam_beta2: 1.5}}", "'train.adam_beta2'"),
    ("init-std-negative", "model: {{init_method_std: -0.02}}", "'model.init_method_std'"),
    ("lr-nan", "train: {{lr: .nan}}", "'train.lr'"),
    ("lr-negative", "train: {{lr: -0.001}}", "'train.lr'"),
    ("micro-batch-absurd", "train: {{micro_batch_size: 1000000}}", "'train.micro_batch_size'"),
    ("seq-length-absurd", "model: {{seq_length: 100000000}}", "'model.seq_length'"),
    ("micro-tokens", "model: {{seq_length: 131072}}\ntrain: {{micro_batch_size: 16, global_batch_size: 16}}",
     "'train.micro_batch_size'"),
    ("warmup-ge-steps", "train: {{warmup_steps: 100000}}", "'train.warmup_steps'"),
    ("checkpoint-steps-dup", "train: {{checkpoint_steps: [2, 2]}}", "'train.checkpoint_steps'"),
    ("steps-zero", "train: {{steps: 0}}", "'train.steps'"),
    ("weight-decay-negative", "train: {{weight_decay: -1.0}}", "'train.weight_decay'"),
    ("norm-eps-zero", "model: {{norm_epsilon: 0.0}}", "'model.norm_epsilon'"),
    ("eval-tokens-zero", "evaluate: {{max_tokens: 0}}", "'evaluate.max_tokens'"),
    ("hash-buckets-zero", "dedup: {{hash_buckets: 0}}", "'dedup.hash_buckets'"),
    # -- lists: unique, known, non-empty; pairs ordered; shares in [0, 1]
    ("filters-twice", "sources: {{crawl: {{filters: [langid, langid]}}}}", "'sources.crawl.filters'"),
    ("filters-unknown", "sources: {{crawl: {{filters: [langid, nope]}}}}", "'sources.crawl.filters'"),
    ("paths-empty", "sources: {{crawl: {{paths: []}}}}", "'sources.crawl.paths'"),
    ("paths-missing", "sources: {{crawl: {{paths: [data/nope.warc.gz]}}}}", "'sources.crawl.paths'"),
    ("source-name", "sources: {{bad-name: {{kind: warc, paths: [{html.warc}], weight: 0.1}}, "
     "crawl: {{weight: 0.4}}}}", "'sources.bad-name'"),
    ("kind-warc-is-jsonl", "sources: {{crawl: {{paths: [{plain.warc.gz}]}}}}", "'sources.crawl.paths'"),
    ("kind-jsonl-is-warc", "sources: {{code: {{paths: [{docs.jsonl.gz}]}}}}", "'sources.code.paths'"),
    ("kind-html", "sources: {{crawl: {{paths: [{html.warc}]}}}}", "'sources.crawl.paths'"),
    ("kind-switched", "sources: {{crawl: {{kind: jsonl}}}}", "'sources.crawl.paths'"),
    ("languages-empty", "langid: {{languages: []}}", "'langid.languages'"),
    ("languages-unknown", "langid: {{languages: [en, xx]}}", "'langid.languages'"),
    ("languages-twice", "langid: {{languages: [en, en]}}", "'langid.languages'"),
    ("language-override-fraction-of-a-count", "gopher_quality: {{languages: {{zh: {{min_doc_words: 50.7}}}}}}",
     "'gopher_quality.languages.zh.min_doc_words'"),
    ("lang-threshold-unkept", "langid: {{thresholds: {{de: 0.8}}}}", "'langid.thresholds.de'"),
    ("pii-twice", "pii: {{types: [email, email]}}", "'pii.types'"),
    ("words-min-gt-max", "gopher_quality: {{min_doc_words: 500, max_doc_words: 100}}", "'gopher_quality.min_doc_words'"),
    ("symbol-ratio-above-1", "gopher_quality: {{max_symbol_word_ratio: 1.5}}", "'gopher_quality.max_symbol_word_ratio'"),
    ("dup-line-frac-2", "gopher_repetition: {{max_dup_line_frac: 2}}", "'gopher_repetition.max_dup_line_frac'"),
    ("short-line-negative", "fineweb: {{max_short_line_ratio: -0.1}}", "'fineweb.max_short_line_ratio'"),
    ("valid-fraction-1", "split: {{valid_fraction: 1}}", "'split.valid_fraction'"),
    ("top-fraction-2", "quality: {{top_fraction: 2}}", "'quality.top_fraction'"),
    ("sweep-warmup-1", "sweep: {{warmup_fraction: 1}}", "'sweep.warmup_fraction'"),
    # -- files the config names: readable, UTF-8, whole
    ("decontam-latin1", "decontam: {{extra_paths: [{latin1.txt}]}}", "latin1.txt: not UTF-8"),
    ("decontam-truncated", "decontam: {{extra_paths: [{cut.jsonl.gz}]}}", "cut.jsonl.gz: cannot be read whole"),
    ("decontam-no-text", "decontam: {{extra_paths: [{notext.jsonl}]}}", "notext.jsonl:1:"),
    ("decontam-missing", "decontam: {{extra_paths: [nope.jsonl]}}", "'decontam.extra_paths'"),
    ("bad-words-latin1", "c4: {{bad_words_file: {latin1.txt}}}", "'c4.bad_words_file'"),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    return _files(tmp_path_factory.mktemp("hostile"))


def _format(text: str, files: dict[str, str]) -> str:
    mapping = {"root": str(ROOT), "parent": str(ROOT.parent), **files}
    out = text
    for k, v in mapping.items():
        out = out.replace("{" + k + "}", v)
    return out.replace("{{", "{").replace("}}", "}")


def write_case(tmp: Path, case: str, text: str, files: dict[str, str]) -> Path:
    path = tmp / f"{case}.yaml"
    path.write_text(_format(text, files), encoding="utf-8")
    return path


def test_the_table_is_large_and_distinct():
    ids = [c[0] for c in CASES]
    assert len(ids) >= 60 and len(set(ids)) == len(ids)


@pytest.mark.parametrize("case, text, named", CASES, ids=[c[0] for c in CASES])
def test_rejected_in_one_line_naming_the_key_and_fix(tmp_path, files, case, text, named):
    path = write_case(tmp_path, case, text, files)
    with pytest.raises(C.ConfigError) as err:
        C.load(ROOT / "config.yaml", path, root=ROOT)
    msg = str(err.value)
    assert "\n" not in msg, msg
    assert named in msg, msg
    assert any(w in msg for w in FIX_WORDS), f"no fix offered: {msg}"
    assert all(c.isprintable() for c in msg), f"unprintable character in: {msg!r}"


def test_non_utf8_file_is_named_with_its_line(tmp_path):
    path = tmp_path / "latin.yaml"
    path.write_bytes(b"run: x\nresults: caf\xe9\n")
    with pytest.raises(C.ConfigError) as err:
        C.load(ROOT / "config.yaml", path, root=ROOT)
    assert str(err.value).startswith(f"{path}:2: not UTF-8") and "\n" not in str(err.value)


def test_missing_overlay_is_named(tmp_path):
    with pytest.raises(C.ConfigError, match="config file not found: .*nope.yaml"):
        C.load(ROOT / "config.yaml", tmp_path / "nope.yaml", root=ROOT)


@pytest.mark.parametrize("text", ["results: /scratch/lmsci-run", "results: results/ä ö 'q' $(x) `y`; z",
                                  "run: my-run_2", "results: results-tiny"])
def test_paths_given_on_purpose_are_accepted(tmp_path, files, text):
    cfg = C.load(ROOT / "config.yaml", write_case(tmp_path, "ok", text, files), root=ROOT)
    assert text.split(": ", 1)[1] in (cfg.results, cfg.run)
