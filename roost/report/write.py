"""Writing a report file: checked up front, written atomically, nothing left behind on failure."""
from __future__ import annotations

import os
from pathlib import Path

from placement.atomic import atomic_write_text
from placement.errors import InputError


class OutputError(InputError):
    pass


def check_writable(path: Path) -> None:
    """Refuse an output path that cannot be written, before any work is done."""
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise OutputError(f"{path}: is a directory; give a file name with -o")
    if not parent.is_dir():
        raise OutputError(f"{path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise OutputError(f"{path}: not writable (permission denied)")


def write_report(path: Path, text: str) -> None:
    check_writable(path)
    try:
        atomic_write_text(path, text)
        # The temporary file was private (0600); a report is for sharing, so honour the umask.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(path, 0o666 & ~umask)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write the report ({exc.strerror or exc})") from None
