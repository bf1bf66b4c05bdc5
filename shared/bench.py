"""`make bench`: wall time of a full synthesis of every environment, fast provider import vs plain import;
the same synthesis and the plain import of the AWS bindings on each installed CDK toolchain; and of
`make plan ENV=local` serially and in parallel, where its emulator runs.

Each run is a fresh process (the import cost is paid once per process, so that is what users feel).
Prints numbers; never fails on them. The target is a ratio at or below 0.35.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from shared import cdk
from shared.paths import ROOT

TARGET_RATIO = 0.35


def _time_synth(plain: bool, outdir: str) -> float:
    variables = dict(os.environ, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20")
    variables["STREAMFLIX_PLAIN_IMPORT"] = "1" if plain else "0"
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "shared.cli", "synth", "--outdir", outdir],
        check=True,
        env=variables,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def run(repeats: int = 3) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cdktf.out")
        _time_synth(False, out)  # warm the byte-code caches so neither side pays for compiling
        fast = [_time_synth(False, out) for _ in range(repeats)]
        plain = [_time_synth(True, out) for _ in range(repeats)]
    f, p = statistics.median(fast), statistics.median(plain)
    print(f"full synthesis of every environment, median of {repeats} fresh processes:")
    print(f"  fast import  {f:7.2f} s   (runs: {', '.join(f'{t:.2f}' for t in fast)})")
    print(f"  plain import {p:7.2f} s   (runs: {', '.join(f'{t:.2f}' for t in plain)})")
    verdict = "meets" if f / p <= TARGET_RATIO else "misses"
    print(f"  ratio        {f / p:7.2f}     ({verdict} the target of {TARGET_RATIO})")
    _bench_toolchains(repeats)
    _bench_plans()
    _bench_deploys()
    _bench_suite(repeats)


def _toolchain_python(name: str) -> Path | None:
    python = ROOT / cdk.TOOLCHAINS[name].venv / "bin" / "python"
    return python if python.exists() else None


def _timed(cmd: list[str], variables: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, env=variables, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def _bench_toolchains(repeats: int) -> None:
    """Full synthesis and a plain import of the AWS bindings, on every toolchain with a virtual environment."""
    print(f"toolchains, median of {repeats} fresh processes:")
    print(f"  {'':30} {'full synthesis':>11} {'plain import of the AWS bindings':>34}")
    for name, toolchain in cdk.TOOLCHAINS.items():
        python = _toolchain_python(name)
        if python is None:
            print(f"  {name:30} not installed (make install TOOLCHAIN={name})")
            continue
        variables = dict(os.environ, STREAMFLIX_TOOLCHAIN=name, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20")
        with tempfile.TemporaryDirectory() as tmp:
            synth = [
                _timed([str(python), "-m", "shared.cli", "synth", "--outdir", f"{tmp}/out"], variables)
                for _ in range(repeats)
            ]
        plain = [_timed([str(python), "-c", f"import {toolchain.modules['aws']}"], variables) for _ in range(repeats)]
        label = f"{name} {_version(python, toolchain.distributions[0])}"
        label += " (lazy bindings)" if toolchain.lazy_provider else ""
        print(f"  {label:30} {statistics.median(synth):9.2f} s {statistics.median(plain):32.2f} s")


def _version(python: Path, distribution: str) -> str:
    code = f"from importlib.metadata import version; print(version({distribution!r}))"
    return subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=False).stdout.strip()


def _bench_suite(repeats: int) -> None:
    """The test suite without the real-engine test, against a plain import of the provider bindings
    measured in the same run (the yardstick: at most 3x; its median, as one import varies by a second)."""
    variables = dict(os.environ, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20")
    imports = [_timed([sys.executable, "-c", f"import {cdk.ACTIVE.modules['aws']}"], variables) for _ in range(repeats)]
    plain = statistics.median(imports)
    # In a folder of its own: pytest deletes the oldest of the runs it keeps before the first test starts, which
    # after a full run is tens of thousands of files, the earlier run's cost rather than this one's.
    with tempfile.TemporaryDirectory() as basetemp:
        start = time.perf_counter()
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-n",
                "auto",
                "--dist",
                "loadgroup",
                "-m",
                "not e2e",
                "-p",
                "no:cacheprovider",
                f"--basetemp={basetemp}/run",
            ],
            env=variables,
            capture_output=True,
            text=True,
            check=False,
        )
        suite = time.perf_counter() - start
    lines = proc.stdout.strip().splitlines() or ["(no output)"]
    print("test suite without the real-engine test:")
    print(f"  plain import of the AWS bindings {plain:7.2f} s   (median of {', '.join(f'{t:.2f}' for t in imports)})")
    print(f"  suite                            {suite:7.2f} s   ({suite / plain:.1f}x; {lines[-1]})")
    for line in lines:  # a time is only worth reading next to what failed
        if line.startswith(("FAILED", "ERROR")):
            print(f"  {line}")


def _bench_plans(env_name: str = "local") -> None:
    """`make plan ENV=local` serially and four stacks at once, where the emulator answers."""
    from shared.config import load_environment
    from shared.errors import UsageError
    from shared.ops.commands.emulator import answers
    from shared.ops.engine.discovery import find_engine

    env = load_environment(env_name)
    try:
        find_engine()
    except UsageError as exc:
        print(f"plan of {env_name}: skipped ({exc})")
        return
    if not answers(env.aws.endpoint):
        print(
            f"plan of {env_name}: skipped (no emulator answers at {env.aws.endpoint}: make emulator, and "
            f"make bootstrap ENV={env_name} first)"
        )
        return
    times = {}
    for workers in ("1", "4"):
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "shared.cli", "plan", "--env", env_name],
            env=dict(os.environ, PARALLELISM=workers),
            capture_output=True,
            check=False,
        )
        times[workers] = time.perf_counter() - start
        if proc.returncode != 0:
            print(f"plan of {env_name} failed (exit {proc.returncode}); see make plan ENV={env_name}")
            return
    print(f"plan of {env_name} (4 stacks), one run each:")
    print(f"  PARALLELISM=1 {times['1']:7.2f} s")
    print(f"  PARALLELISM=4 {times['4']:7.2f} s   (speed-up {times['1'] / times['4']:.2f}x)")


def _cdktf_cli() -> list[str] | None:
    """The cdktf CLI to compare with: CDKTF_CLI (a command line), else `cdktf` on PATH."""
    import shlex
    import shutil

    if os.environ.get("CDKTF_CLI"):
        return shlex.split(os.environ["CDKTF_CLI"])
    found = shutil.which("cdktf")
    return [found] if found else None


def _bench_deploys(env_name: str = "local") -> None:
    """`make deploy ENV=local` with fingerprints and nothing changed, with FORCE=1, and after a change only
    the compute stack reads; beside the cdktf CLI's deploy of the same stacks where it is installed. Runs
    against the emulator only, and puts local back as it was (one untimed deploy)."""
    import shutil

    from shared.config import load_environment
    from shared.errors import UsageError
    from shared.naming import STACK_NAMES, stack_id
    from shared.ops.aws import engine_environment
    from shared.ops.commands.emulator import answers
    from shared.ops.engine import log as engine_log
    from shared.ops.engine.discovery import find_engine

    env = load_environment(env_name)
    try:
        find_engine()
    except UsageError as exc:
        print(f"deploy of {env_name}: skipped ({exc})")
        return
    if not env.emulated or not answers(env.aws.endpoint):
        print(f"deploy of {env_name}: skipped (no emulator answers: make emulator, make bootstrap ENV={env_name})")
        return

    def deploy(*extra: str, environments: str | None = None) -> float | None:
        variables = dict(os.environ, **({"STREAMFLIX_ENVIRONMENTS_DIR": environments} if environments else {}))
        variables.pop("STREAMFLIX_NOT_TYPED", None)  # what make was not typed is bench's; these flags are typed
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "shared.cli", "deploy", "--env", env_name, *extra],
            env=variables,
            cwd=ROOT,
            capture_output=True,
            check=False,
        )
        return time.perf_counter() - start if proc.returncode == 0 else None

    if deploy() is None:  # everything deployed and fingerprinted, whatever was there before
        print(f"deploy of {env_name}: skipped (make deploy ENV={env_name} fails; run it to see why)")
        return
    times = {"no-op, fingerprints": deploy(), "no-op, FORCE=1": deploy("--force")}
    with tempfile.TemporaryDirectory() as tmp:
        changed = Path(tmp) / "environments"
        shutil.copytree(ROOT / "environments", changed)
        config = changed / f"{env_name}.yaml"
        storage = env.compute.ephemeral_storage_gib + 1
        config.write_text(
            config.read_text().replace("compute:\n", f"compute:\n  ephemeral_storage_gib: {storage}\n", 1)
        )
        times["compute changed"] = deploy(environments=str(changed))
    deploy()  # back to the checkout's own local
    cli = _cdktf_cli()
    if cli is not None:
        stacks = [stack_id(s, env.suffix) for s in STACK_NAMES]
        variables = dict(os.environ, TF_CLI_CONFIG_FILE=str(ROOT / "cdktf.out" / "terraform.rc"))
        for name, value in engine_environment(env).items():
            if value is None:
                variables.pop(name, None)
            else:
                variables[name] = value
        variables = engine_log.CURRENT.environment(variables)  # the engine it runs logs as ours does
        start = time.perf_counter()
        proc = subprocess.run(
            [*cli, "deploy", *stacks, "--auto-approve", "--skip-synth"],
            env=variables,
            cwd=ROOT,
            capture_output=True,
            check=False,
        )
        times["cdktf CLI deploy"] = time.perf_counter() - start if proc.returncode == 0 else None
    base = times.get("cdktf CLI deploy")
    print(f"deploy of {env_name} (4 stacks), one run each:")
    for label, seconds in times.items():
        if seconds is None:
            print(f"  {label:22} failed")
            continue
        ratio = f"   ({seconds / base:.2f}x the cdktf CLI)" if base else ""
        print(f"  {label:22} {seconds:7.2f} s{ratio}")
    if cli is None:
        print("  cdktf CLI              not installed (CDKTF_CLI=<command>, or npm i cdktf-cli@0.21.0): no ratio")
