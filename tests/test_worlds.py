"""The kept worlds of tests/support/worlds.py: a world is built once, and every test that asks for it, the one
that built it included, starts from the same restored files and objects."""

from __future__ import annotations

from shared.ops.engine.workdir import INIT_STAMP
from tests.support import worlds
from tests.support.moto_pipeline import mocked_client

KEY = "streamflix/dev/fingerprints/data.json"


def _test_dir(root, name):
    folder = root / name
    (folder / "engine" / "bin").mkdir(parents=True)
    (folder / "engine" / "bin" / "terraform").write_text(f"{name}'s own engine")
    (folder / "engine" / "engine.log").write_text("")
    return folder


def _files(folder) -> dict:
    return {
        str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None, p.stat().st_mode & 0o777)
        for p in folder.rglob("*")
        if "engine" not in p.relative_to(folder).parts[:1]
    }


def test_a_world_is_built_once_and_every_test_starts_from_it_restored(aws, tmp_path):
    s3 = mocked_client("s3")
    s3.create_bucket(Bucket="kept")
    kept: dict = {}
    builds = []

    def build(root):
        def go():
            builds.append(root)
            dot = root / "cdktf.out" / "stacks" / "data-dev" / ".terraform"
            dot.mkdir(parents=True)
            (dot / INIT_STAMP).write_text('{"key": "names this test\'s engine"}')
            plan = root / "cdktf.out" / "stacks" / "data-dev" / "tfplan"
            plan.write_bytes(b"\xff plan")
            plan.chmod(0o600)
            (root / "cdktf.out" / ".locks").mkdir()
            (root / "cdktf.out" / ".locks" / "dev.lock").write_text("held by the build")
            s3.put_object(Bucket="kept", Key=KEY, Body=b"{}")

        return go

    first = _test_dir(tmp_path, "first")
    worlds.once(kept, "w", first, lambda: tmp_path / "store", s3, ["kept"], build(first))
    assert s3.get_object(Bucket="kept", Key=KEY)["Body"].read() == b"{}"
    s3.delete_object(Bucket="kept", Key=KEY)  # as the next test's fresh moto is

    second = _test_dir(tmp_path, "second")
    worlds.once(kept, "w", second, lambda: tmp_path / "unused", s3, ["kept"], build(second))

    assert builds == [first]
    assert _files(first) == _files(second)  # the test that built it starts where every other does
    plan = second / "cdktf.out" / "stacks" / "data-dev" / "tfplan"
    assert plan.read_bytes() == b"\xff plan" and plan.stat().st_mode & 0o777 == 0o600
    for folder in (first, second):
        dot = folder / "cdktf.out" / "stacks" / "data-dev" / ".terraform"
        assert dot.is_dir() and not (dot / INIT_STAMP).exists()  # the stamp names the builder's engine
        assert not (folder / "cdktf.out" / ".locks").exists()  # the build's locks are no test's
        assert (folder / "engine" / "bin" / "terraform").read_text() == f"{folder.name}'s own engine"
    assert s3.get_object(Bucket="kept", Key=KEY)["Body"].read() == b"{}"
