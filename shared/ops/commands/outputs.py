"""`make outputs ENV=<env> [NAME=<stack>.<output>]`: every stack's outputs, keyed by stack, written to
outputs/<env>.json; with NAME, that one value alone on stdout (a string as it is, anything else as JSON), for
a script: `url=$(make -s outputs ENV=dev NAME=data.dlq_url)`."""

from __future__ import annotations

import contextlib
import difflib
import json
import sys
from pathlib import Path

from shared.config import EnvironmentConfig
from shared.contract import DEFAULT_OUTDIR
from shared.errors import UsageError
from shared.ops.runner.run import perform
from shared.paths import OUTPUTS_DIR


def outputs(
    env: EnvironmentConfig, *, name: str | None = None, outdir: Path = DEFAULT_OUTDIR, outputs_dir: Path = OUTPUTS_DIR
) -> None:
    if name is None:
        perform("outputs", env, outdir=outdir, outputs_dir=outputs_dir)
        return
    if not name.strip():  # NAME=$unset in a script: every output would land in its variable
        raise UsageError("NAME= is empty: give <stack>.<output>, or leave NAME out to write every output")
    with contextlib.redirect_stdout(sys.stderr):  # what the command says goes beside the value, never into it
        perform("outputs", env, outdir=outdir, outputs_dir=outputs_dir)
    value = pick(json.loads((outputs_dir / f"{env.suffix}.json").read_text()), name, env.name)
    print(value if isinstance(value, str) else json.dumps(value, sort_keys=True))


def pick(collected: dict[str, dict], name: str, env_name: str) -> object:
    """The value NAME names: `<stack>.<output>`, or an output name that only one stack has. Anything else is a
    usage error that lists what there is, with the closest names first."""
    every = {f"{stack}.{output}": value for stack, held in collected.items() for output, value in held.items()}
    if name in every:
        return every[name]
    holders = [full for full in every if full.split(".", 1)[1] == name]
    if len(holders) == 1:
        return every[holders[0]]
    if len(holders) > 1:
        raise UsageError(f"NAME={name} is an output of {', '.join(holders)}: name one as <stack>.<output>")
    close = difflib.get_close_matches(name, list(every) + [f.split(".", 1)[1] for f in every], n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    known = ", ".join(sorted(every)) or f"none: nothing of {env_name} is deployed"
    raise UsageError(f"NAME={name}: no such output of {env_name}; {hint}known: {known}")
