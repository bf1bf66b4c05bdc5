"""The variables the tool reads from its environment: each described, parsed once, every bad value named at once,
and read nowhere else in the code."""

from __future__ import annotations

import ast
import dataclasses

import pytest

from shared import cli, options
from shared.errors import UsageError
from shared.options import VARIABLES, Options
from shared.paths import ROOT

# Who may still read the process environment, and why: what counts only when typed is read there to be refused;
# the engine's debug log has its own parse at the same moment; the engine and moto_server are passed the
# environment as it is; the toolchain is chosen when the bindings load, before any command; the benchmark runs
# programs of its own; a CI run's identity is recorded as found.
MAY_READ = {
    "shared/options.py",
    "shared/cli.py",
    "shared/typed.py",
    "shared/ops/engine/log.py",
    "shared/ops/engine/process.py",
    "shared/ops/engine/discovery.py",
    "shared/ops/commands/emulator.py",
    "shared/ops/state_bucket/errored_state.py",
    "shared/cdk/__init__.py",
    "shared/cdk/fast_import.py",
    "shared/bench.py",
}


def test_every_option_is_a_described_variable():
    fields = {f.name for f in dataclasses.fields(Options)} - {"problems"}
    assert {v.field for v in VARIABLES} == fields
    assert all(v.description.endswith(".") and len(v.description) > 20 for v in VARIABLES)
    assert len({v.name for v in VARIABLES}) == len(VARIABLES)


def test_unset_is_the_defaults_and_values_are_parsed():
    assert Options.from_environment({}) == Options()
    parsed = Options.from_environment(
        {"PARALLELISM": "1", "STATE_LOCK_TIMEOUT": "0", "LOCK_TIMEOUT": "2.5", "CI": "true", "STREAMFLIX_RESYNTH": "1"}
    )
    assert (parsed.parallelism, parsed.state_lock_timeout, parsed.lock_timeout) == (1, 0, 2.5)
    assert parsed.under_ci and parsed.resynthesize
    assert not Options.from_environment({"CI": "false", "STREAMFLIX_RESYNTH": "0"}).under_ci


def test_every_bad_value_is_named_at_once_and_none_is_read_as_its_default():
    parsed = Options.from_environment({"PARALLELISM": "0", "STATE_LOCK_TIMEOUT": "5m", "LOCK_TIMEOUT": "-1"})
    with pytest.raises(UsageError) as raised:
        parsed.refuse()
    said = str(raised.value)
    assert "PARALLELISM='0'" in said and "STATE_LOCK_TIMEOUT='5m'" in said and "LOCK_TIMEOUT='-1'" in said
    assert "nothing was run" in said
    with pytest.raises(UsageError, match="PARALLELISM='0'") as one:
        parsed.checked("parallelism")
    assert "LOCK_TIMEOUT" not in str(one.value)
    assert Options.from_environment({"PARALLELISM": "many"}).checked("lock_timeout") == 0.0  # only its own


def test_a_bad_value_stops_a_command_that_runs_the_engine_before_anything_runs(monkeypatch, capsys):
    monkeypatch.setenv("PARALLELISM", "many")
    assert cli.main(["plan", "--env", "dev"]) == 2
    assert "PARALLELISM='many'" in capsys.readouterr().err
    assert options._CURRENT is None  # the next command parses its own


def test_a_command_that_reads_no_tuning_is_not_stopped_by_a_bad_one(monkeypatch, capsys):
    # A stray PARALLELISM in the shell refused `make config` and `make releases`, which never read it.
    monkeypatch.setenv("PARALLELISM", "many")
    assert cli.main(["config", "--env", "dev"]) == 0
    assert "PARALLELISM" not in capsys.readouterr().err


def test_no_other_module_reads_the_environment():
    readers = []
    for path in sorted([*ROOT.joinpath("shared").rglob("*.py"), *ROOT.joinpath("stacks").rglob("*.py")]):
        name = str(path.relative_to(ROOT))
        if name in MAY_READ:
            continue
        for node in ast.walk(ast.parse(path.read_text(), name)):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb"):
                readers.append(f"{name}:{node.lineno}")
    assert readers == []
