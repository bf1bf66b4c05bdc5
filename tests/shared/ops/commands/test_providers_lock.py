"""`make providers-lock`: every provider pinned for every platform, or a message that says what it needs."""

from __future__ import annotations

import pytest

from shared.config import load_environment
from shared.ops.commands.providers_lock import relock
from shared.ops.engine import provider_pins


def test_providers_lock_says_what_it_needs_when_nothing_can_serve_every_platform(engine, tmp_path, monkeypatch):
    from shared.errors import OperationFailed

    monkeypatch.chdir(tmp_path)  # it synthesizes into ./cdktf.out
    monkeypatch.setattr(provider_pins, "ROOT", tmp_path)
    with pytest.raises(OperationFailed) as exc:
        relock(load_environment("dev"))
    assert "could not pin the providers of network-dev for linux_amd64, linux_arm64, darwin_amd64, darwin_arm64" in str(
        exc.value
    )
    assert "it needs the registry, or a mirror that holds every platform" in str(exc.value)
    (args,) = [a for cmd, _, a in engine.calls() if cmd == "providers"]
    assert args[:2] == ["providers", "lock"] and "-platform=darwin_arm64" in args
    assert not (tmp_path / ".terraform.lock.hcl").exists()  # nothing half-written
