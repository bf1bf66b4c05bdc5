"""Confirmation: a protected deploy and any destroy need a yes that names the environment; CONFIRM names it,
or the prompt takes it (after the plans it approves are shown: tests/shared/ops/runner/test_run.py)."""

from __future__ import annotations

import pytest

from shared.config import load_environment
from shared.errors import UsageError
from shared.ops.runner import confirm as consent


@pytest.fixture
def prod(monkeypatch):
    monkeypatch.delenv("CONFIRM", raising=False)
    return load_environment("prod")


def test_the_prompt_takes_only_the_environments_name(prod, monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: "yes")
    with pytest.raises(UsageError, match="not confirmed; nothing was changed in prod"):
        consent.obtain(prod, "deploy")
    monkeypatch.setattr("builtins.input", lambda prompt: "prod")
    consent.obtain(prod, "deploy")


def test_ctrl_d_at_the_prompt_is_not_confirmed(prod, monkeypatch):
    def eof(prompt):
        raise EOFError

    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", eof)
    with pytest.raises(UsageError, match="not confirmed; nothing was changed in prod"):
        consent.obtain(prod, "deploy")
    assert consent.ask("Type 'prod': ", "prod") is False


def test_without_a_terminal_it_says_which_confirm_to_give(prod, monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    monkeypatch.setattr("builtins.input", lambda prompt: pytest.fail("asked without a terminal"))
    with pytest.raises(UsageError, match="refusing to apply changes to prod without confirmation.*CONFIRM=prod"):
        consent.obtain(prod, "deploy")
    assert consent.named(prod, "prod") is True and consent.named(prod, None) is False


def test_which_commands_need_a_yes(monkeypatch):
    dev, prod = load_environment("dev"), load_environment("prod")
    assert not consent.needs_yes(dev, "deploy")  # an unprotected deploy needs none (unless its plan widens access)
    assert consent.needs_yes(prod, "deploy") and consent.needs_yes(dev, "destroy")
    assert not consent.needs_yes(prod, "plan") and not consent.needs_yes(prod, "drift")


def test_a_destroy_of_any_environment_names_what_it_destroys(monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(UsageError, match="refusing to destroy compute-dev, monitoring-dev without"):
        consent.obtain(load_environment("dev"), "destroy", selection=["compute", "monitoring"])


def test_a_confirm_that_names_another_environment_is_refused_whatever_the_command(prod):
    with pytest.raises(UsageError, match="CONFIRM=staging does not name the environment this command works on"):
        consent.named(prod, "staging")


def test_a_confirm_in_the_environment_is_no_yes(prod, monkeypatch):
    # `export CONFIRM=prod` once, and every later deploy of prod was confirmed without a word.
    monkeypatch.setenv("CONFIRM", "prod")
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(UsageError, match="refusing to apply changes to prod without confirmation"):
        consent.obtain(prod, "deploy")
    with pytest.raises(UsageError, match="refusing to destroy every stack of prod without confirmation"):
        consent.obtain(prod, "destroy")


def test_ctrl_c_at_a_prompt_answers_at_once_while_the_runner_catches_signals(monkeypatch):
    import signal

    from shared.ops.engine.interrupts import INTERRUPTS

    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    seen = []

    def question(prompt: str) -> str:
        seen.append(signal.getsignal(signal.SIGINT))
        signal.raise_signal(signal.SIGINT)  # what Ctrl-C sends
        return "prod"

    monkeypatch.setattr("builtins.input", question)
    with INTERRUPTS.handling():
        caught = signal.getsignal(signal.SIGINT)
        assert consent.ask("Type 'prod': ", "prod") is False
        assert signal.getsignal(signal.SIGINT) == caught  # the runner's handler is back for its engines
    assert seen == [signal.default_int_handler]
