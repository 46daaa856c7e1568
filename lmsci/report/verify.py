"""``lmsci verify REPORT_DIR``: re-hash every artifact a report's ``provenance.json`` lists.

``provenance.json`` names the results directory twice: relative to the report directory
(``results_dir_from_report``; survives moving the repository) and as given to the report build
(``results_dir``; relative to the working directory it ran in). The first that exists is used,
unless the caller names one. Besides the artifacts under it, the report's inputs outside the
results directory (config files, a scaling fit: ``inputs``, found relative to the report directory
first — ``inputs_from_report`` — then as given) and
the source files the config names (``data_inputs``, relative to the repository the run used) and
the report's own files (plots, report.md, report.html: ``report_files``) are re-hashed too; their
lines are marked ``[input]``, ``[data]`` and ``[report]``.

Which artifacts: every output of every job that built the report, listed by the workflow itself
(lmsci.report.artifacts); logs and benchmark timings are listed in ``not_artifacts``, not hashed.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lmsci.io import read_json
from lmsci.provenance import sha256_file


class VerifyError(RuntimeError):
    """The report cannot be checked at all (no provenance, no results directory): one line."""


@dataclass(frozen=True)
class Problem:
    artifact: str  # path relative to the results directory (or, marked, to the report), as provenance.json lists it
    kind: str  # "missing" or "mismatch"
    expected: str
    actual: str = ""

    def line(self) -> str:
        if self.kind == "missing":
            return f"MISSING  {self.artifact} (expected sha256 {self.expected})"
        return f"MISMATCH {self.artifact}: expected sha256 {self.expected}, found {self.actual}"


def results_dir(report_dir: Path, prov: dict, override: Path | None = None) -> Path:
    if override is not None:
        candidates = [Path(override)]
    else:
        candidates = [Path(report_dir) / p for p in (prov.get("results_dir_from_report"),) if p]
        candidates += [Path(p) for p in (prov.get("results_dir"),) if p]
    for c in candidates:
        if c.is_dir():
            return c
    if not candidates:
        raise VerifyError(f"{report_dir}/provenance.json names no results directory (built before verify "
                          "existed); rebuild the report or pass --results")
    raise VerifyError(f"results directory not found: tried {', '.join(map(str, candidates))}; pass --results")


def load_provenance(report_dir: Path) -> dict:
    """A report's ``provenance.json`` as a mapping; anything else is one line naming the file."""
    path = Path(report_dir) / "provenance.json"
    if not path.is_file():
        raise VerifyError(f"{path} not found; is {report_dir} a report directory (reports/<run>)?")
    try:
        prov = read_json(path)
    except (ValueError, UnicodeDecodeError) as e:  # JSONDecodeError is a ValueError; name the file, not just the cause
        raise VerifyError(f"{path} is damaged: it is not valid JSON ({e}); rebuild the report or restore the file") from None
    if not isinstance(prov, dict):
        raise VerifyError(f"{path}: expected a JSON object, got {type(prov).__name__}; rebuild the report")
    return prov


def verify(report_dir: Path, results: Path | None = None) -> tuple[Path, int, list[Problem]]:
    """Return (results directory used, number of files checked, problems: artifacts, inputs, report files)."""
    path = Path(report_dir) / "provenance.json"
    prov = load_provenance(report_dir)
    artifacts = prov.get("artifacts")
    if not isinstance(artifacts, dict) or not artifacts:
        raise VerifyError(f"{path} lists no artifacts; rebuild the report")
    root = results_dir(Path(report_dir), prov, results)
    from_report = prov.get("inputs_from_report") or {}

    def input_paths(p: str) -> list[Path]:
        return ([Path(report_dir) / from_report[p]] if p in from_report else []) + [Path(p)]

    repo = Path((prov.get("git") or {}).get("root") or ".")

    def data_paths(p: str) -> list[Path]:  # as the config names them: relative to the repository the run used
        return [repo / p, Path(p)]

    groups = [("", lambda rel: [root / rel], artifacts), ("[input] ", input_paths, prov.get("inputs") or {}),
              ("[data] ", data_paths, prov.get("data_inputs") or {}),
              ("[report] ", lambda rel: [Path(report_dir) / rel], prov.get("report_files") or {})]
    problems, n = [], 0
    for label, where, listed in groups:
        n += len(listed)
        for rel, expected in sorted(listed.items()):
            f = next((c for c in where(rel) if c.is_file()), None)
            if f is None:
                problems.append(Problem(label + rel, "missing", expected))
            elif (actual := sha256_file(f)) != expected:
                problems.append(Problem(label + rel, "mismatch", expected, actual))
    return root, n, problems
