"""`make status ENV=<env>`: each stack, what it depends on, when and at which revision it was last applied, and
whether anything it is made of changed since (its synthesized code, the provider pins, the engine, the
providers, or what it reads of its producers), from the fingerprints recorded beside the state. Nothing is
planned: what a change would do is `make plan`'s to say."""

from __future__ import annotations

from pathlib import Path

from shared.config import EnvironmentConfig
from shared.contract import DEFAULT_OUTDIR
from shared.ops.aws import one_command
from shared.ops.runner import fingerprinting, preparation
from shared.ops.state_bucket.fingerprint import Fingerprint, Unreadable, recorded

# A fingerprint's parts (shared/ops/state_bucket/fingerprint.py), as the table names what changed.
PARTS = {
    "stack_json": "its code",
    "provider_pins": "the provider pins",
    "engine": "the engine",
    "providers": "the providers it requires",
    "reads": "what it reads of its producers",
}


def status(env: EnvironmentConfig, *, outdir: Path = DEFAULT_OUTDIR) -> None:
    with one_command():
        prepared = preparation.prepare("plan", env, outdir=outdir)
        rows = [("STACK", "DEPENDS ON", "LAST APPLIED", "SINCE THEN")]
        for stack in prepared.ordered:
            applied = recorded(env, stack.name)
            try:
                now, why = fingerprinting.compute(env, stack, prepared.engine), ""
            except Unreadable as exc:
                now, why = None, str(exc)
            last = applied.since() if applied is not None else "(no record: never applied, or before fingerprints)"
            reads = [s.id for s in prepared.ordered if s.id in stack.dependencies]  # in dependency order
            rows.append((stack.id, ", ".join(reads) or "-", last, changed(applied, now, why)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def changed(applied: Fingerprint | None, now: Fingerprint | None, why: str = "") -> str:
    """What changed in a stack since it was last applied, in words."""
    if now is None:
        return f"cannot tell: {why}" if why else "cannot tell"
    if applied is None:
        return "-"
    if applied.digest == now.digest:
        return "unchanged (a deploy skips it)"
    parts = [words for part, words in PARTS.items() if applied.parts.get(part) != now.parts.get(part)]
    return "changed: " + (", ".join(parts) if parts else "its fingerprint")
