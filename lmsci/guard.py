"""Nothing destructive outside the run: a verb that replaces a directory named on the command line
replaces only one it wrote itself (its marker file inside), an empty one, or none — never a user's."""
from __future__ import annotations

from pathlib import Path


EXPORT_MARKER = "lmsci_export.json"  # lmsci export-hf writes it into every export


class NotOurs(RuntimeError):
    """The directory holds something this verb did not write."""


def check_replaceable(out_dir: Path, marker: str, verb: str) -> None:
    """Raise :class:`NotOurs` unless ``out_dir`` is missing, empty, or holds ``marker`` (written by ``verb``)."""
    out_dir = Path(out_dir)
    if out_dir.is_symlink() or (out_dir.exists() and not out_dir.is_dir()):
        raise NotOurs(f"{out_dir} exists and is not a directory; choose another output directory")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / marker).is_file():
        raise NotOurs(f"{out_dir} is a non-empty directory that {verb} did not write (no {marker}); "
                      "choose another output directory or empty it yourself")
