"""Confirmation: a protected deploy and any destroy need a yes that names the environment."""

from __future__ import annotations

import pytest

from shared.config import load_environment
from shared.errors import UsageError
from shared.ops.runner.confirm import require_confirmation


@pytest.fixture
def prod(monkeypatch):
    monkeypatch.delenv("CONFIRM", raising=False)
    return load_environment("prod")


def test_the_prompt_takes_only_the_environments_name(prod, monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: "yes")
    with pytest.raises(UsageError, match="not confirmed; nothing was changed in prod"):
        require_confirmation(prod, "deploy")
    monkeypatch.setattr("builtins.input", lambda prompt: "prod")
    require_confirmation(prod, "deploy")


def test_ctrl_d_at_the_prompt_is_not_confirmed(prod, monkeypatch):
    def eof(prompt):
        raise EOFError

    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", eof)
    with pytest.raises(UsageError, match="not confirmed; nothing was changed in prod"):
        require_confirmation(prod, "deploy")


def test_without_a_terminal_it_says_which_confirm_to_give(prod, monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(UsageError, match="refusing to apply changes to prod without confirmation.*CONFIRM=prod"):
        require_confirmation(prod, "deploy")
    require_confirmation(prod, "deploy", "prod")


def test_a_destroy_of_any_environment_names_what_it_destroys(monkeypatch):
    monkeypatch.delenv("CONFIRM", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    dev = load_environment("dev")
    require_confirmation(dev, "deploy")  # an unprotected deploy needs no yes
    with pytest.raises(UsageError, match="refusing to destroy compute-dev, monitoring-dev without"):
        require_confirmation(dev, "destroy", selection=["compute", "monitoring"])


def test_a_confirm_that_names_another_environment_is_refused_whatever_the_command(prod):
    for action in ("plan", "deploy", "destroy"):
        with pytest.raises(UsageError, match="CONFIRM=staging does not name the environment this command works on"):
            require_confirmation(prod, action, "staging")


def test_a_confirm_in_the_environment_is_no_yes(prod, monkeypatch):
    # `export CONFIRM=prod` once, and every later deploy of prod was confirmed without a word.
    monkeypatch.setenv("CONFIRM", "prod")
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(UsageError, match="refusing to apply changes to prod without confirmation"):
        require_confirmation(prod, "deploy")
    with pytest.raises(UsageError, match="refusing to destroy every stack of prod without confirmation"):
        require_confirmation(prod, "destroy")
