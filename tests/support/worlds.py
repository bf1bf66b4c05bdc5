"""A world a test starts from, built once per session and restored for each test that asks for it.

A world is what a command left behind: the files under the test's tmp_path (the synthesized stacks with their
initialized working directories, the outputs and reports, the stand-in engine's states) and every object in
moto's state buckets (states, fingerprints, releases). Building "dev deployed" through the runner costs about
a second, most of it moto's answers to the state bucket; restoring it costs a copy. The world is taken after
the first build and laid over each later test's empty tmp_path and fresh moto, so every test still starts from
what the real command produced, not from a hand-written imitation of it.

What a world does not hold: anything outside tmp_path and the state buckets (a test that builds other AWS
resources builds them itself), the engine's call log (a world starts with it empty), and the working
directories' init stamps, whose key names the engine binary's path in the test that built them; a restored
world initializes each stack again on its first command, as a fresh checkout of a deployed environment does.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# Where a world's files are: relative to tmp_path. engine/bin is the test's own engine (built by the `engine`
# fixture), and engine/engine.log its call log.
SKIPPED = ("engine/bin", "engine/engine.log")
# Never part of a world, as never part of a seeded synthesis: the environment locks of the command that built it.
UNCOPIED = (".locks", ".manifest.lock")


@dataclass(frozen=True)
class World:
    files: Path  # a copy of the building test's tmp_path, minus SKIPPED
    objects: tuple[tuple[str, str, bytes], ...]  # (bucket, key, body) of every object in the state buckets


def _objects(s3, buckets: list[str]) -> tuple[tuple[str, str, bytes], ...]:
    found = []
    for bucket in buckets:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                found.append((bucket, item["Key"], s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()))
    return tuple(found)


def take(tmp_path: Path, store: Path, s3, buckets: list[str]) -> World:
    """The world as it is now under tmp_path and in `buckets`; its files copied to `store`."""
    skipped = {tmp_path / p for p in SKIPPED}
    shutil.copytree(
        tmp_path, store, ignore=lambda d, names: [n for n in names if n in UNCOPIED or Path(d, n) in skipped]
    )
    return World(store, _objects(s3, buckets))


def restore(world: World, tmp_path: Path, s3) -> None:
    """Lay the world over tmp_path (which holds the test's own engine) and into the test's moto."""
    shutil.copytree(world.files, tmp_path, dirs_exist_ok=True)
    for bucket, key, body in world.objects:
        s3.put_object(Bucket=bucket, Key=key, Body=body)


def once(
    worlds: dict[str, World],
    name: str,
    tmp_path: Path,
    store: Callable[[], Path],
    s3,
    buckets: list[str],
    build: Callable[[], None],
) -> None:
    """Give this test the world `name`: build it here the first time in this session (then keep it), else
    restore the kept one. The test's tmp_path and state buckets must be empty of the world's files and objects."""
    if name in worlds:
        restore(worlds[name], tmp_path, s3)
        return
    build()
    worlds[name] = take(tmp_path, store() / "files", s3, buckets)
