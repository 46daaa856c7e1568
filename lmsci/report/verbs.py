"""The verbs that read a finished run (``lmsci verify``, ``reproduce``, ``diff``, ``trace``, ``batch``,
``inspect``): people run them, rules do not (lmsci.closure finds a ``cmd_*`` here as in lmsci.cli)."""
from __future__ import annotations

import sys
from pathlib import Path

from lmsci import config as C


def cmd_verify(a, _):
    from lmsci.report.verify import verify
    root, n, problems = verify(Path(a.report_dir), Path(a.results) if a.results else None)
    for problem in problems:
        print(problem.line())
    print(f"verify: {n - len(problems)} of {n} artifacts under {root} match provenance.json")
    return 1 if problems else 0


def cmd_reproduce(a, _):
    from lmsci import reproduce as R
    n, lines, clone = R.reproduce(Path(a.report_dir), a.until, a.remote, a.repo, a.workdir, a.cores)
    for line in lines:
        print(line.text())
    print(f"{n - len(lines)} of {n} artifacts identical")
    if lines or a.keep:
        print(f"reproduce: the rerun is kept in {clone}", file=sys.stderr)
    else:
        R.remove(clone)
    return 1 if lines else 0


def cmd_diff(a, _):
    from lmsci.report.diff import diff, render
    found = diff(Path(a.run_a), Path(a.run_b))
    print("\n".join(render(found)))
    return 1 if any(found[k] for k in ("config", "code", "packages", "inputs", "stage", "loss")) else 0


def cmd_trace(a, _):
    import json
    from lmsci.report.trace import trace
    cfg = C.load(*(a.configfile or ["config.yaml"]))
    from lmsci.termsafe import clean
    print(clean(json.dumps(trace(Path(a.results or cfg.results), cfg, a.step, a.sample, a.position, stage=a.stage),
                           indent=2, ensure_ascii=False)))


def cmd_batch(a, _):
    import json
    from lmsci.report.trace import batch
    cfg = C.load(*(a.configfile or ["config.yaml"]))
    out = batch(Path(a.results or cfg.results), a.step, stage=a.stage)
    from lmsci.termsafe import clean
    if a.json:
        print(json.dumps(out, ensure_ascii=True))  # \u-escaped: no crawled control character reaches a terminal
        return
    for smp in out["samples"]:
        print(clean(f"--- step {out['step']} sample {smp['sample']}: " + ", ".join(
            f"{d['id']} [{d['first']}:{d['end']}]" for d in smp["documents"])))
        print(clean(smp["text"]))


def cmd_inspect(a, _):
    from lmsci.report import inspect
    from lmsci.termsafe import clean  # crawled text: escape control characters before the terminal sees them
    results = Path(a.results or C.load(*(a.configfile or ["config.yaml"])).results)
    if a.reason is None:
        for reason, n in sorted(inspect.reasons(results).items()):
            print(f"{n:8d}  {clean(reason)}")
        return
    for doc in inspect.samples(results, a.reason, a.n).iter_rows(named=True):
        text = " ".join((doc["text"] or "").split())
        print(f"--- {clean(doc['id'])}  {clean(doc['reason'])}  {clean(doc['url'], keep_newlines=False)}\n"
              f"{clean(text[:a.chars])}")
