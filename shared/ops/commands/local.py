"""`make local` and `make local-down`: the whole pipeline on this machine in one command, and gone in one.

`make local` checks first what it cannot do without (the engine, the providers the stacks require, by
the engine's own installation rules), so that a machine without them stops before anything starts and
is told what to install. Then: the emulator started unless it runs, the state bucket bootstrapped
(idempotent), every stack deployed by the real engine (a stack whose fingerprint is unchanged is
skipped), the smoke checks, and what now runs where. Run again, it changes nothing and says so.
`make local-down` destroys the environment and stops the emulator. Only emulated environments.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from shared.config import EnvironmentConfig
from shared.contract import DEFAULT_OUTDIR
from shared.errors import OperationFailed, UsageError
from shared.naming import STACK_NAMES, state_key
from shared.ops.commands import emulator, smoke
from shared.ops.engine import provider_install
from shared.ops.engine.discovery import find_engine
from shared.ops.engine.process import Engine, EngineInterrupted
from shared.ops.runner import environment_lock
from shared.ops.runner import run as runner
from shared.ops.runner.outcome import Status
from shared.ops.state_bucket import fingerprint
from shared.ops.state_bucket.bootstrap import ensure_state_bucket
from shared.paths import OUTPUTS_DIR, REPORTS_DIR
from shared.synthesis import synthesize_if_changed

WITHOUT_THEM = "make synth and make test work without them (the real-engine tests are skipped, saying why)"


def _emulated(env: EnvironmentConfig, command: str) -> None:
    if not env.emulated:
        raise UsageError(
            f"make {command} runs an emulator environment (one that sets aws.endpoint, such as local); "
            f"{env.name} lives in AWS: use make deploy ENV={env.name}"
        )


def _engine() -> Engine:
    try:
        return find_engine()
    except UsageError as exc:
        raise UsageError(f"make local needs a deploy engine: {exc}. {WITHOUT_THEM}; nothing was started") from None


def _providers_installable(engine: Engine, env: EnvironmentConfig, outdir: Path) -> None:
    """Every provider the synthesized stacks require, installed by the engine into a scratch directory
    (no backend, no AWS): where it cannot, nothing has started yet and the message names what is missing."""
    stacks = sorted((outdir / "stacks").glob(f"*-{env.suffix}/cdk.tf.json"))
    wanted: dict[str, dict] = {}
    for path in stacks:
        wanted.update(json.loads(path.read_text()).get("terraform", {}).get("required_providers", {}))
    doc = {"terraform": {"required_providers": wanted}}
    with tempfile.TemporaryDirectory(prefix="streamflix-preflight-") as where:
        scratch = Path(where) / env.suffix  # named as the environment: the engine's output says which
        scratch.mkdir()
        (scratch / "cdk.tf.json").write_text(json.dumps(doc, indent=2))
        result = engine.capture(["init", "-backend=false", "-input=false", "-no-color"], scratch)
    if result.returncode == 0:
        return
    message = provider_install.explain(result.output, env.suffix, doc)
    if message is not None:
        raise UsageError(
            message.replace("; nothing was applied.", f"; nothing was started. {WITHOUT_THEM}.", 1)
            + (
                "\nOffline, name a filesystem mirror that holds them: TF_PROVIDER_MIRROR=/path/to/mirror make local"
                if engine.cli_config is None
                else ""
            )
        )
    raise OperationFailed(f"the engine could not initialize the providers, so nothing was started:\n{result.output}")


def _bootstrapped(env: EnvironmentConfig, synthesized: Path) -> None:
    """The state bucket, and the CI roles with the permissions boundary every role of the stacks names."""
    from shared.access.target import Target, read_synthesized, resources_of
    from shared.ops.access import ensure_ci_roles
    from shared.ops.aws import client
    from shared.stack import partition_of

    done = ensure_state_bucket(env)
    changed = [prop for prop, status in done if status in ("created", "updated")]
    print(
        f"state bucket {env.state.bucket}: " + (f"set up ({len(changed)} settings)" if changed else "in place"),
        flush=True,
    )
    identity = client("sts", env).get_caller_identity()
    resources = resources_of(read_synthesized(env, synthesized / "stacks"))
    target = Target(env, identity["Account"], partition_of(env.aws.region), resources)
    roles, _ = ensure_ci_roles(target, None, identity["Arn"])
    changed = [prop for prop, status in roles if status != "already there"]
    print("CI roles and boundary: " + (f"set up ({len(changed)} settings)" if changed else "in place"), flush=True)


def up(env: EnvironmentConfig, *, outdir: Path = DEFAULT_OUTDIR, outputs_dir: Path = OUTPUTS_DIR) -> None:
    """`make local`: each step in turn; the first that does not succeed raises."""
    _emulated(env, "local")
    started = time.monotonic()
    environment_lock.hold(outdir, [env.suffix])  # held until this command ends; its deploy takes it again
    engine = _engine()
    synthesized = synthesize_if_changed(env, outdir)
    from shared.ops.aws import engine_environment  # boto3, like the rest of this command

    _providers_installable(engine.configured(engine_environment(env), synthesized), env, synthesized)
    emulator.start(env)
    _bootstrapped(env, synthesized)
    runner.perform("deploy", env, outdir=outdir, outputs_dir=outputs_dir)
    smoke.run(env, outputs_dir)
    print(_what_runs(env, outputs_dir, outputs_dir.parent / REPORTS_DIR.name, time.monotonic() - started))


def _what_runs(env: EnvironmentConfig, outputs_dir: Path, reports_dir: Path, seconds: float) -> str:
    outputs = json.loads((outputs_dir / f"{env.suffix}.json").read_text())
    report = json.loads((reports_dir / f"{env.suffix}-deploy.json").read_text())
    unchanged = all(s["status"] == Status.UNCHANGED for s in report["stacks"])
    data, compute, monitoring = outputs["data"], outputs["compute"], outputs["monitoring"]
    alarms = monitoring.get("alarm_names") or []
    alarms = alarms if isinstance(alarms, list) else [alarms]
    headline = (
        f"nothing changed: {env.name} already ran this code ({seconds:.1f} s)"
        if unchanged
        else f"{env.name} runs the whole pipeline ({seconds:.0f} s)"
    )
    return "\n".join(
        [
            "",
            f"{headline}, in the emulator at {env.aws.endpoint}:",
            f"  jobs arrive on   the Kinesis stream {data['kinesis_stream_name']}",
            f"  workers run in   the ECS cluster {compute['ecs_cluster_name']} (service {compute['ecs_service_name']})",
            f"  metadata lives   in the Aurora cluster at {data['rds_cluster_endpoint']}",
            f"  failed jobs go   to the queue {data['dlq_url']}",
            f"  CloudWatch       dashboard {monitoring['dashboard_name']}; {len(alarms)} alarms: {', '.join(alarms)}",
            "Look at it:       make outputs ENV=local (every output), make releases (what runs where), "
            "make drift ENV=local",
            "Change it:        edit environments/local.yaml or the stacks, then make local again (only what "
            "changed is deployed)",
            "Take it down:     make local-down (destroys every stack and stops the emulator)",
        ]
    )


def _anything_deployed(env: EnvironmentConfig) -> bool:
    """Whether any stack's state object holds resources or outputs (read directly: no engine, no init); a first
    apply that failed may have left resources and no outputs. A state that cannot be read counts as deployed:
    the destroy then finds out."""
    for name in STACK_NAMES:
        try:
            held = fingerprint.state_document(env, env.state.bucket, state_key(env, name))
        except fingerprint.Unreadable:
            return True
        if held is not None and (held.get("resources") or held.get("outputs")):
            return True
    return False


def down(env: EnvironmentConfig, *, outdir: Path = DEFAULT_OUTDIR, outputs_dir: Path = OUTPUTS_DIR) -> None:
    """`make local-down`: destroy every stack (the command's name is the consent: an emulator holds nothing
    of value), then stop the emulator. A destroy that fails leaves the emulator running, to look at."""
    _emulated(env, "local-down")
    if not emulator.answers(env.aws.endpoint):
        print(f"no emulator answers at {env.aws.endpoint}: nothing is deployed there")
    elif not _anything_deployed(env):
        print(f"nothing is deployed in {env.suffix}: no stack's state holds anything")
    else:
        try:
            runner.perform("destroy", env, outdir=outdir, outputs_dir=outputs_dir, confirm=env.suffix)
        except (OperationFailed, EngineInterrupted):  # failed or stopped half-way: what is left is there to see
            print(f"the emulator keeps running, to look at: make emulator-stop ENV={env.name} stops it")
            raise
    emulator.stop(env)
