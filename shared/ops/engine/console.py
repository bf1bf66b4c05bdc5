"""Console output of the tool and the engine: each line shown as it comes, or collected into this thread's
block when several engines run at once (each stack's output is then printed as one block); a console that is
gone (a closed terminal, a dropped SSH session) never stops the engine."""

from __future__ import annotations

import contextlib
import sys
import threading

OUTPUT = threading.local()  # .buffer: a list collecting this thread's output as one block, or None


def emit(text: str) -> None:
    """Print a line of ours, into this thread's block when one is being collected."""
    block = getattr(OUTPUT, "buffer", None)
    if block is None:
        write(text + "\n")
    else:
        block.append(text + "\n")


def say(text: str) -> None:
    write(f"\n{text}\n", sys.stderr)


def write(text: str, stream=None) -> None:
    """Our output, which may be gone (a closed terminal, a dropped SSH session): the engine must go on
    regardless, and what it says is in its output file."""
    stream = stream or sys.stdout
    with contextlib.suppress(OSError, ValueError):
        stream.write(text)
        stream.flush()
