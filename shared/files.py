"""Writing a file so that nobody ever reads half of it."""

from __future__ import annotations

import os
import threading
from pathlib import Path


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
