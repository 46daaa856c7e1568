"""`lmsci run`'s arguments: its own options, and everything else passed on to Snakemake in order."""
from __future__ import annotations


def split(argv: list[str]) -> tuple[list[str], list[str]]:
    """``lmsci run``'s own options (--cores N, --configfile F…) and, in order, everything else for
    Snakemake (its flags and targets: ``lmsci run -n tokens``). A --configfile list ends at the first
    word that is not a .yaml/.yml/.json file, so a target may follow it."""
    own, rest, i = ["run"], [], 1
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest += argv[i + 1:]
            break
        if arg in ("--cores", "-c") or arg.startswith(("--cores=", "-c=")):
            own += ["--cores", arg.split("=", 1)[1]] if "=" in arg else ["--cores", *argv[i + 1:i + 2]]
            i += 1 if "=" in arg else 2
            continue
        if arg == "--configfile":
            own.append(arg)
            i += 1
            while i < len(argv) and argv[i].endswith((".yaml", ".yml", ".json")):
                own.append(argv[i])
                i += 1
            continue
        if arg in ("-h", "--help"):
            own.append(arg)
        else:
            rest.append(arg)
        i += 1
    return own, rest
