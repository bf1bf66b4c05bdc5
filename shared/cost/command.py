"""`make cost [ENV=<env>]` and `make prices [REGION=<region>]`: what the user asked for, said and written. Nothing
here decides an exit code: shared/cli.py maps what is raised."""

from __future__ import annotations

from pathlib import Path

from shared.config import EnvironmentConfig, load_environments
from shared.contract import DEFAULT_OUTDIR
from shared.cost import report
from shared.cost.estimate import of_synthesized
from shared.ops.runner import environment_lock
from shared.paths import REPORTS_DIR
from shared.synthesis import synthesize_if_changed


def cost(
    envs: list[EnvironmentConfig], *, named: bool, outdir: Path = DEFAULT_OUTDIR, reports_dir: Path = REPORTS_DIR
) -> None:
    """Each environment's estimate from its stacks as synthesized now (synthesized first when they are not). Without
    ENV, every real environment, as plan does: an emulator one costs nothing, and is priced only when named."""
    envs = envs if named else [env for env in envs if not env.emulated]
    environment_lock.hold(outdir, [env.suffix for env in envs])  # a deploy of one of them may be reading its JSON
    for env in envs:
        estimate = of_synthesized(env, synthesize_if_changed(env, outdir))
        print(report.text(estimate))
        json_path, md_path = report.write(estimate, reports_dir)
        print(f"wrote {json_path} and {md_path}")


def refresh_prices(region: str | None) -> None:
    """Each region's price file (every region an environment uses, without REGION) asked again of the AWS Price
    List API; a file stays unchanged unless every one of its prices was found."""
    from shared.cost.refresh import pricing_client, refresh  # boto3

    for each in [region] if region else sorted({env.aws.region for env in load_environments()}):
        changed = refresh(each, pricing_client)
        print(f"{each}: {len(changed)} price(s) changed" + "".join(f"\n  {line}" for line in changed))
