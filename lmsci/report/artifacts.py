"""What a run made, from the workflow itself: every output of every job that built the report.

The list is Snakemake's own account of the DAG — ``snakemake --summary --forceall <target>``, one
row per output file of every job the target needs, with the job's rule — run on the same Snakefile
and config files as the run, never a hand-kept list of stages or glob patterns, so a stage added
later is covered without an edit here. Directory outputs (``directory()``) count file by file.
``--nolock``: the report is built inside a Snakemake job whose scheduler holds the working
directory's lock; ``--summary`` only reads (the DAG, file times, ``.snakemake/metadata``), so
it neither needs nor may wait for that lock (Snakemake 9.27: ``DAG.summary``).

Not artifacts: the files under the results directory that no job of the DAG declares as an output
(the rules' ``log:`` files and ``benchmark:`` timings, which differ on every run, and anything
another run left there). They are listed by path in ``provenance.json`` (``not_artifacts``), not
hashed, so ``lmsci reproduce`` does not compare timings. The outputs of the report job itself are
the report's files (``report_files``), hashed by the report builder after it writes them.

The stage order (``rule_order``) is the DAG's rule graph (``snakemake --rulegraph dot``) sorted
topologically, ties by name: ``lmsci diff`` names the first stage whose outputs differ.
"""
from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from lmsci.provenance import sha256_file

REPORT_RULE = "build_report"  # workflow/rules/report.smk: its outputs are the report's own files
NOT_ARTIFACTS = ("not an output of any job in the DAG that built the report: the rules' log and benchmark "
                 "files (timings and messages, different on every run) or files another run left; "
                 "listed, not hashed")
TIMEOUT_S = 600


class ArtifactsError(RuntimeError):
    """Snakemake could not list the DAG, or a declared output is missing: one line."""


def _snakemake(root: Path, workdir: Path, config_files: list[str], *args: str) -> str:
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(Path(root) / "Snakefile"), "--directory",
           str(workdir), "--nolock", "--cores", "1", *(["--configfile", *config_files] if config_files else []), *args]
    # The Snakefile imports its own repository's lmsci: PYTHONPATH first, as a .pth in the environment
    # may import an installed lmsci at interpreter start (which sys.path inserts could no longer shadow).
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(root).resolve()),
                                                        *filter(None, [os.environ.get("PYTHONPATH")])])}
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=TIMEOUT_S, env=env)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ArtifactsError(f"`snakemake {' '.join(args)}` in {workdir} failed: {tail[0]}")
    return proc.stdout


def job_outputs(root: Path, config_files: list[str], target: str = REPORT_RULE,
                workdir: Path | None = None) -> list[tuple[str, str]]:
    """(output as the Snakefile names it, rule) of every job the target needs."""
    out = _snakemake(root, Path(workdir or Path.cwd()), config_files, "--forceall", "--summary", target)
    lines = out.splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.startswith("output_file\t")), None)
    if start is None:
        raise ArtifactsError(f"`snakemake --summary {target}` printed no table; is {root}/Snakefile a workflow?")
    return [(row[0], row[2]) for row in (ln.split("\t") for ln in lines[start + 1:]) if len(row) >= 3]


def rule_order(root: Path, config_files: list[str], target: str = REPORT_RULE,
               workdir: Path | None = None) -> list[str]:
    """The target's rules, each after every rule it needs (ties by name)."""
    dot = _snakemake(root, Path(workdir or Path.cwd()), config_files, "--forceall", "--rulegraph", "dot", "--", target)
    names = dict(re.findall(r'^\s*(\d+)\[label = "([^"]+)"', dot, re.M))
    needs = {n: set() for n in names.values()}
    for a, b in re.findall(r"^\s*(\d+) -> (\d+)", dot, re.M):
        if a != b:  # a rule that needs its own earlier jobs (a recipe's train_stage) is not a cycle
            needs[names[b]].add(names[a])
    order: list[str] = []
    while needs:
        ready = sorted(n for n, deps in needs.items() if not deps - set(order))
        if not ready:
            raise ArtifactsError(f"the rule graph of {target} has a cycle among {sorted(needs)}")
        order.append(ready[0])
        del needs[ready[0]]
    return order


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and p.name != ".snakemake_timestamp")
    return [path] if path.is_file() else []


def _rel(path: Path, results: Path) -> str:
    return os.path.relpath(Path(path).resolve(), Path(results).resolve())


def tree_hash(files: dict[str, str]) -> str:
    """One sha256 for a directory: over its files' relative paths and sha256s, sorted."""
    return hashlib.sha256("".join(f"{k}\t{v}\n" for k, v in sorted(files.items())).encode()).hexdigest()


def code_versions() -> dict[str, str]:
    """verb → its code version (lmsci.closure.verb_version, the hash each rule's ``code`` param holds)."""
    from lmsci import closure
    tree = ast.parse((closure.PKG / "cli.py").read_text(encoding="utf-8"))
    verbs = [n.name[4:].replace("_", "-") for n in tree.body
             if isinstance(n, ast.FunctionDef) and n.name.startswith("cmd_")]
    return {v: closure.verb_version(v) for v in sorted(verbs)}


def data_inputs(config: dict, workdir: Path | None = None) -> dict[str, str]:
    """sha256 of every source file the config names (``sources.<name>.paths``), keyed as written."""
    workdir = Path(workdir or Path.cwd())
    paths = sorted({p for src in (config.get("sources") or {}).values() for p in (src or {}).get("paths", [])})
    return {p: sha256_file(workdir / p) for p in paths if (workdir / p).is_file()}


def collect(results: Path, config_files: list[str], root: Path, workdir: Path | None = None,
            target: str = REPORT_RULE) -> dict:
    """``artifacts`` (path relative to ``results`` → sha256), ``artifact_rules`` (path → rule that
    wrote it), ``rule_order``, ``not_artifacts`` (reason, files) and ``artifact_source``.

    Without a Snakefile at ``root`` (a results tree built by hand, as in the report's unit tests)
    every file under ``results`` is an artifact, and ``artifact_source`` says so."""
    results, workdir = Path(results), Path(workdir or Path.cwd())
    everything = {_rel(p, results) for p in _files(results)}
    if not (Path(root) / "Snakefile").is_file():
        return {"artifact_source": f"every file under {results} (no Snakefile at {root} to list the DAG)",
                "artifacts": {rel: sha256_file(results / rel) for rel in sorted(everything)},
                "artifact_rules": {}, "rule_order": [], "not_artifacts": {"reason": "", "files": []}}
    rules: dict[str, str] = {}
    for name, rule in job_outputs(root, config_files, target, workdir):
        if rule in (target, REPORT_RULE):
            continue
        path = workdir / name
        found = _files(path)
        if not found and not path.is_dir():
            raise ArtifactsError(f"{path} (an output of rule {rule}) is missing; rerun the workflow before the report")
        rules.update({_rel(p, results): rule for p in found})
    rules = dict(sorted(rules.items()))
    return {"artifact_source": f"snakemake --summary --forceall {target} (Snakefile {Path(root) / 'Snakefile'})",
            "artifacts": {rel: sha256_file(results / rel) for rel in rules}, "artifact_rules": rules,
            "rule_order": rule_order(root, config_files, target, workdir),
            "not_artifacts": {"reason": NOT_ARTIFACTS, "files": sorted(everything - set(rules))}}


def checkpoints(results: Path, hashes: dict[str, str]) -> list[dict]:
    """Every checkpoint among the artifacts (a directory holding ``lmsci_meta.json``,
    lmsci.train.checkpoint.META): path, step, tokens seen (consumed samples × seq_length) and
    :func:`tree_hash` of its files, by step then path."""
    out = []
    for meta_rel in (k for k in hashes if Path(k).name == "lmsci_meta.json"):
        d = str(Path(meta_rel).parent)
        meta = json.loads((Path(results) / meta_rel).read_text())
        files = {k[len(d) + 1:]: v for k, v in hashes.items() if k.startswith(d + "/")}
        out.append({"path": d, "step": meta.get("step"), "tokens_seen": meta.get("consumed_samples", 0)
                    * (meta.get("model") or {}).get("seq_length", 0), "sha256": tree_hash(files)})
    return sorted(out, key=lambda c: (c["step"] if c["step"] is not None else -1, c["path"]))
