"""What a command ends with, as a test asserts it: 0, 1 for a failed operation (its message printed on stderr,
as the CLI prints it) or 130/143 for an interrupt. A usage error (exit 2) is raised, so that a test names it
with pytest.raises. The CLI's own mapping is tested through shared.cli.main."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable

from shared.errors import OperationFailed
from shared.ops.engine.process import EngineInterrupted


def exit_code(command: Callable, *args, **kwargs) -> int:
    try:
        command(*args, **kwargs)
    except OperationFailed as exc:
        print(f"failed: {exc}", file=sys.stderr)
        return 1
    except EngineInterrupted as exc:
        return 130 if exc.signum == signal.SIGINT else 143
    return 0
