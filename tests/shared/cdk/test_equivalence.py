"""cdktf and cdktn synthesize the same stacks for every environment, apart from the listed differences.

The session's synthesis comes from the toolchain of this interpreter; the other toolchain synthesizes
in its own virtual environment (`make test` and `make equivalence` install it). `make equivalence`
runs this file alone: the one command that shows the two agree.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from shared import cdk
from shared.paths import ROOT
from tests.support.synthesized import Synthesized

pytestmark = pytest.mark.xdist_group("equivalence")  # one worker: the other toolchain synthesizes once

VENVS = {name: ROOT / toolchain.venv for name, toolchain in cdk.TOOLCHAINS.items()}
OTHER = next(name for name in cdk.TOOLCHAINS if name != cdk.ACTIVE.name)

# (JSON path, why it may differ). Anything else that differs is a defect of the seam or a toolchain.
EXPECTED = [
    (r"//\.metadata\.version", "each toolchain writes its own version into the stack's metadata"),
    (
        r"terraform\.required_providers\.(aws|random)\.version",
        "each toolchain's bindings were generated for their own provider version",
    ),
    (
        r"terraform\.required_providers\.(aws|random)\.source",
        "cdktn spells the source hashicorp/<name>, cdktf <name>: the same registry address",
    ),
]
MANIFEST_EXPECTED = [(r"version", "the toolchain's version")]


def differences(a: Any, b: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """(JSON path, left value, right value) of every leaf where `a` and `b` differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        found = []
        for key in sorted(set(a) | set(b)):
            where = f"{path}.{key}" if path else key
            found += differences(a.get(key, "<absent>"), b.get(key, "<absent>"), where)
        return found
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [(path, a, b)]


def _same_source(a: Any, b: Any) -> bool:
    def address(source: Any) -> Any:
        return f"hashicorp/{source}" if isinstance(source, str) and "/" not in source else source

    return address(a) == address(b)


def unexpected(a: Any, b: Any, expected: list[tuple[str, str]] = EXPECTED) -> list[str]:
    """The differences between two synthesized documents that the EXPECTED list does not explain."""
    found = []
    for path, left, right in differences(a, b):
        allowed = any(re.fullmatch(pattern, path) for pattern, _ in expected)
        if path.endswith(".source") and allowed:
            allowed = _same_source(left, right)
        if not allowed:
            found.append(f"{path}: {json.dumps(left)[:120]} != {json.dumps(right)[:120]}")
    return found


@pytest.fixture(scope="module")
def other(tmp_path_factory) -> Synthesized:
    python = VENVS[OTHER] / "bin" / "python"
    if not python.exists():
        message = f"{OTHER} is not installed in {VENVS[OTHER].name}: make test (or make equivalence) installs it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    out = tmp_path_factory.mktemp(OTHER) / "cdktf.out"
    env = dict(os.environ, STREAMFLIX_TOOLCHAIN=OTHER, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20")
    proc = subprocess.run(
        [str(python), "-m", "shared.cli", "synth", "--outdir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, f"{OTHER} could not synthesize:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return Synthesized(out)


def test_every_stack_of_every_environment_is_the_same_on_both_toolchains(synth, other):
    ours, theirs = synth.manifest(), other.manifest()
    assert sorted(ours["stacks"]) == sorted(theirs["stacks"])
    assert unexpected(ours, theirs, MANIFEST_EXPECTED) == []
    problems = {}
    for stack_id in ours["stacks"]:
        stack, env = stack_id.split("-", 1)
        found = unexpected(synth.stack(stack, env), other.stack(stack, env))
        if found:
            problems[stack_id] = found
    assert problems == {}, f"{cdk.ACTIVE.name} and {OTHER} disagree beyond the listed differences: {problems}"


def test_the_listed_differences_are_really_there(synth, other):
    # The comparison is between two toolchains, not one output with itself: their provider pins differ.
    paths = {path for path, _, _ in differences(synth.stack("data", "dev"), other.stack("data", "dev"))}
    assert "terraform.required_providers.aws.version" in paths and "//.metadata.version" in paths
    assert synth.manifest()["version"] != other.manifest()["version"]


def test_an_unexpected_difference_is_named_by_its_json_path():
    left = {
        "terraform": {"required_providers": {"aws": {"source": "aws", "version": "6.25.0"}}},
        "resource": {"aws_kinesis_stream": {"stream": {"retention_period": 24, "tags": ["a"]}}},
    }
    right = json.loads(json.dumps(left))
    right["terraform"]["required_providers"]["aws"] = {"source": "hashicorp/aws", "version": "6.69.1"}
    assert unexpected(left, right) == []  # listed: versions and the source's spelling
    right["resource"]["aws_kinesis_stream"]["stream"]["retention_period"] = 48
    right["resource"]["aws_kinesis_stream"]["stream"]["tags"] = ["b"]
    right["terraform"]["required_providers"]["aws"]["source"] = "someone/aws"  # another provider entirely
    assert unexpected(left, right) == [
        "resource.aws_kinesis_stream.stream.retention_period: 24 != 48",
        'resource.aws_kinesis_stream.stream.tags[0]: "a" != "b"',
        'terraform.required_providers.aws.source: "aws" != "someone/aws"',
    ]


def test_nothing_outside_the_seam_names_a_toolchain():
    # Every import of the CDK core and the bindings goes through shared/cdk.
    pattern = re.compile(r"^\s*(from|import)\s+(cdktf|cdktn|cdktf_cdktf_provider_\w+|cdktn_provider_\w+)\b", re.M)
    offenders = [
        str(path.relative_to(ROOT))
        for directory in ("stacks", "shared")
        for path in (ROOT / directory).rglob("*.py")
        if Path(ROOT / "shared" / "cdk") not in path.parents and pattern.search(path.read_text())
    ]
    assert offenders == []
