"""A world a test starts from, built once per session and restored for each test that asks for it.

A world is what a command left behind: the files under the test's tmp_path (the synthesized stacks with their
working directories, the outputs and reports, the stand-in engine's states) and every object in moto's state
buckets (states, fingerprints, releases). Building "dev deployed" through the runner costs about a second, most
of it moto's answers to the state bucket; restoring it costs a copy. Every test that asks for a world gets the
restored one, the one whose run built it included (its files and objects are cleared and laid again), so no
test sees something else for having come first.

What a world does not hold: anything outside tmp_path and the state buckets (a test that builds other AWS
resources builds them itself), the engine's call log (a world starts with it empty), the environment locks of
the command that built it, and the working directories' init stamps, whose key names the engine binary of the
test that built them: in a world each stack's first command initializes it, as in a fresh checkout of a
deployed environment.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from shared.ops.engine.workdir import INIT_STAMP

# Relative to tmp_path: the test's own engine (made by the `engine` fixture) and its call log.
SKIPPED = ("engine/bin", "engine/engine.log")
# Never part of a world, as never part of a seeded synthesis: the environment locks of the command that built
# it; nor the init stamps (above).
UNCOPIED = (".locks", ".manifest.lock", INIT_STAMP)


@dataclass(frozen=True)
class World:
    files: Path  # a copy of the building test's tmp_path, minus SKIPPED and UNCOPIED
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


def clear(tmp_path: Path, s3, buckets: list[str]) -> None:
    """Remove what a build left: every file under tmp_path but SKIPPED, every object in `buckets`."""
    kept = {tmp_path / p for p in SKIPPED}
    for path in sorted(tmp_path.rglob("*"), reverse=True):  # the deepest first: a folder is empty when it goes
        if path in kept or any(k in path.parents for k in kept) or any(path in k.parents for k in kept):
            continue
        if path.is_dir() and not path.is_symlink():
            path.rmdir()
        else:
            path.unlink()
    for bucket in buckets:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                s3.delete_object(Bucket=bucket, Key=item["Key"])


def restore(world: World, tmp_path: Path, s3) -> None:
    """Lay the world over tmp_path (a file the world lacks stays as the test left it: its own engine, the
    synthesis it seeded) and into the test's moto."""
    shutil.copytree(world.files, tmp_path, dirs_exist_ok=True)
    for bucket, key, body in world.objects:
        s3.put_object(Bucket=bucket, Key=key, Body=body)


def once(
    worlds: dict[str, World],
    key: str,
    tmp_path: Path,
    store: Callable[[], Path],
    s3,
    buckets: list[str],
    build: Callable[[], None],
) -> None:
    """Give this test the world `key` names: built here the first time in this session (then kept, cleared and
    restored), restored from the kept one every later time. `key` must name everything the build depends on."""
    if key not in worlds:
        build()
        worlds[key] = take(tmp_path, store() / "files", s3, buckets)
        clear(tmp_path, s3, buckets)
    restore(worlds[key], tmp_path, s3)
