"""`make unprotect ENV=<env> CONFIRM=<suffix>`: lift the protection recorded beside an environment's state.

The one way to lift it (a YAML edit never does): refused for prod, refused while the environment file
still says protected (the next deploy would record it again), and only with CONFIRM naming the suffix.
The lift is recorded in the same object, with who and when, and `make releases` shows it.
"""

from __future__ import annotations

from pathlib import Path

from shared.config import EnvironmentConfig
from shared.contract import DEFAULT_OUTDIR
from shared.errors import UsageError
from shared.ops.aws import check_credentials
from shared.ops.runner import environment_lock
from shared.ops.state_bucket import protection, releases


def unprotect(env: EnvironmentConfig, *, confirm: str | None, outdir: Path = DEFAULT_OUTDIR) -> None:
    if confirm != env.suffix:
        raise UsageError(
            f"lifting the protection of {env.suffix} needs CONFIRM={env.suffix} on the command line: "
            f"make unprotect ENV={env.name} CONFIRM={env.suffix}; nothing was changed"
        )
    if refusal := protection.lift_refusal(env, None):  # what the file says: before any AWS call
        raise UsageError(f"{refusal}; nothing was changed")
    identity = check_credentials(env)
    environment_lock.hold(outdir, [env.suffix])  # no deploy of it in this checkout meanwhile
    recorded = protection.read(env)
    if recorded is None or not recorded.protected:
        print(f"{env.suffix}: no protection is recorded at {protection.where(env)}; nothing to lift")
        return
    if refusal := protection.lift_refusal(env, recorded):
        raise UsageError(f"{refusal} ({protection.where(env)}: {recorded.describe()}); nothing was changed")
    protection.lift(env, recorded, by=identity.get("Arn", ""), revision=releases.revision_or_unknown())
    print(
        f"lifted the protection of {env.suffix} recorded at {protection.where(env)} ({recorded.describe()}); "
        f"its deploys are still guarded, and make destroy ENV={env.name} CONFIRM={env.suffix} may now take it down"
    )
