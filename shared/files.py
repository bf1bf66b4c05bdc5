"""Writing a file so that nobody ever reads half of it."""

from __future__ import annotations

import os
import threading
from pathlib import Path

# What the tools write (synthesized stacks, saved plans, outputs, reports) is for the user who ran them:
# cli.main runs under this umask, and owner_only() tightens what an earlier version left readable.
PRIVATE_UMASK = 0o077


def owner_only(path: Path) -> None:
    """Take group and other permissions off `path` and everything below it (links are left alone)."""
    if not path.exists() or path.is_symlink():
        return
    for root, dirs, files in os.walk(path):
        for name in [*dirs, *files]:
            entry = Path(root, name)
            if not entry.is_symlink() and entry.lstat().st_mode & 0o077:
                entry.chmod(entry.lstat().st_mode & 0o700)
    if path.lstat().st_mode & 0o077:
        path.chmod(path.lstat().st_mode & 0o700)


def write_atomically(path: Path, text: str) -> Path:
    """Replace `path` with `text` in one rename: a reader sees the old content or the new, never part of
    it. The temporary file beside it is this process's and thread's own, so two writers never share one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
