"""`make check`: scan every synthesized stack with checkov (terraform_json, offline) and fail on any failed check."""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

from shared.config import EnvironmentConfig
from shared.errors import UsageError
from shared.naming import STACK_NAMES, stack_id
from shared.options import current
from shared.paths import CHECKOV

SKIPS_FILE = Path(__file__).with_name("checkov_skips.yaml")
CONDITIONS = {
    "no_nat": lambda env: env.network.nat_gateways == 0,
    "unprotected": lambda env: not env.protected,
    "no_performance_insights": lambda env: not env.data.aurora.performance_insights,
    "no_enhanced_monitoring": lambda env: not env.data.aurora.enhanced_monitoring,
    "emulated": lambda env: env.emulated,
}


@dataclass(frozen=True)
class Skip:
    check: str
    reason: str
    when: str | None = None

    def applies_to(self, env: EnvironmentConfig) -> bool:
        return self.when is None or CONDITIONS[self.when](env)


def load_skips(path: Path = SKIPS_FILE) -> list[Skip]:
    """Read the skip file; a skip without a reason or with an unknown condition is an error."""
    problems, skips = [], []
    for i, item in enumerate(yaml.safe_load(path.read_text()) or []):
        where = f"{path.name} entry {i + 1}"
        if not isinstance(item, dict) or set(item) - {"check", "reason", "when"}:
            problems.append(f"{where}: needs check, reason and optionally when")
            continue
        if not str(item.get("reason", "")).strip():
            problems.append(f"{where} ({item.get('check')}): every skip needs a reason")
        if item.get("when") not in (None, *CONDITIONS):
            problems.append(f"{where}: unknown condition {item['when']!r}; known: {', '.join(CONDITIONS)}")
        skips.append(Skip(str(item.get("check")), str(item.get("reason", "")), item.get("when")))
    if problems:
        raise UsageError("; ".join(problems))
    return skips


# `make install` puts checkov in its own virtual environment (its pins clash with ours).


def checkov_binary() -> str:
    found = current().checkov or (str(CHECKOV) if CHECKOV.exists() else shutil.which("checkov"))
    if not found or not Path(found).exists():
        raise UsageError("checkov is not installed: run `make install` (it lives in .venv/checkov)")
    return found


@dataclass(frozen=True)
class Finding:
    check: str
    stack: str
    resource: str
    title: str


def scan_environments(
    envs: list[EnvironmentConfig], outdir: Path, skips: list[Skip]
) -> dict[str, tuple[list[Finding], int, list[str]]]:
    """One checkov run over the stacks of every environment in `envs` (its start-up costs seconds);
    each environment's skips are applied to its own results. Keyed by suffix."""
    owner = {stack_id(name, env.suffix): env for env in envs for name in STACK_NAMES}
    skipped = {env.suffix: sorted({s.check for s in skips if s.applies_to(env)}) for env in envs}
    # --file per stack gives one report; --skip-download keeps checkov offline.
    cmd = [checkov_binary(), "--framework", "terraform_json", "--skip-download", "--output", "json"]
    for sid in owner:
        cmd += ["--file", str(outdir / "stacks" / sid / "cdk.tf.json")]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    try:
        reports = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise UsageError(f"checkov did not produce a report (exit {proc.returncode}):\n{proc.stderr[-3000:]}") from None
    found: dict[str, list[Finding]] = {env.suffix: [] for env in envs}
    passed = dict.fromkeys(found, 0)
    for report in reports if isinstance(reports, list) else [reports]:
        if "results" not in report:  # checkov's "nothing to scan" summary
            continue
        for outcome in ("passed_checks", "failed_checks"):
            for f in report["results"][outcome]:
                path = Path(f["file_abs_path"])
                env = owner[path.parent.name]
                if f["check_id"] in skipped[env.suffix]:
                    continue
                if outcome == "passed_checks":
                    passed[env.suffix] += 1
                else:
                    finding = Finding(f["check_id"], path.parent.name, _address(path, f["resource"]), f["check_name"])
                    found[env.suffix].append(finding)
    return {suffix: (found[suffix], passed[suffix], skipped[suffix]) for suffix in found}


def _address(path: Path, resource: str) -> str:
    """checkov's terraform_json runner names block-level findings `resource.<name>`; give the type back."""
    block, _, name = resource.partition(".")
    if block not in ("resource", "data"):
        return resource
    doc = _read_json(path)
    for rtype, items in doc.get(block, {}).items():
        if name in items:
            return f"{'data.' if block == 'data' else ''}{rtype}.{name}"
    return resource


@functools.cache
def _read_json(path: Path) -> dict:
    return json.loads(path.read_text())


def scan(envs: list[EnvironmentConfig], outdir: Path) -> int:
    """`make check`: one checkov run over `envs`, reported; 1 when any check failed."""
    return report(envs, scan_environments(envs, outdir, load_skips()))


def report(envs: list[EnvironmentConfig], results: dict[str, tuple[list[Finding], int, list[str]]]) -> int:
    """A line per environment and one per finding; 1 when any environment has a finding."""
    failed_any = False
    for env in envs:
        findings, passed, skipped = results[env.suffix]
        status = "FAILED" if findings else "ok"
        print(
            f"checkov {env.name} (suffix {env.suffix}): {passed} passed, {len(findings)} failed, "
            f"skipped by shared/policy/checkov_skips.yaml: {', '.join(skipped) or 'none'} -- {status}"
        )
        for f in findings:
            print(f"  {f.check}  {f.stack}  {f.resource}: {f.title}")
        failed_any |= bool(findings)
    return 1 if failed_any else 0
