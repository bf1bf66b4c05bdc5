"""The kept worlds of tests/support/worlds.py: a restored world holds exactly what the build left, and is built
once."""

from __future__ import annotations

from tests.support import worlds
from tests.support.moto_pipeline import mocked_client


def _test_dir(root, name):
    folder = root / name
    (folder / "engine" / "bin").mkdir(parents=True)
    (folder / "engine" / "bin" / "terraform").write_text("this test's own engine")
    (folder / "engine" / "engine.log").write_text("")
    return folder


def test_a_world_is_built_once_then_restored_with_its_files_modes_and_objects(aws, tmp_path):
    s3 = mocked_client("s3")
    s3.create_bucket(Bucket="kept")
    kept: dict = {}
    builds = []

    def build(root):
        def go():
            builds.append(root)
            (root / "cdktf.out" / "stacks" / "data-dev" / ".terraform").mkdir(parents=True)
            plan = root / "cdktf.out" / "stacks" / "data-dev" / "tfplan"
            plan.write_bytes(b"\xff plan")
            plan.chmod(0o600)
            (root / "cdktf.out" / ".locks").mkdir()
            (root / "cdktf.out" / ".locks" / "dev.lock").write_text("held by the build")
            (root / "engine" / "engine.log").write_text("the build's calls")
            s3.put_object(Bucket="kept", Key="streamflix/dev/fingerprints/data.json", Body=b"{}")

        return go

    first = _test_dir(tmp_path, "first")
    worlds.once(kept, "w", first, lambda: tmp_path / "store", s3, ["kept"], build(first))
    s3.delete_object(Bucket="kept", Key="streamflix/dev/fingerprints/data.json")  # as a fresh moto would be

    second = _test_dir(tmp_path, "second")
    worlds.once(kept, "w", second, lambda: tmp_path / "unused", s3, ["kept"], build(second))

    assert builds == [first]
    plan = second / "cdktf.out" / "stacks" / "data-dev" / "tfplan"
    assert plan.read_bytes() == b"\xff plan" and plan.stat().st_mode & 0o777 == 0o600
    assert (second / "cdktf.out" / "stacks" / "data-dev" / ".terraform").is_dir()  # an empty folder too
    assert not (second / "cdktf.out" / ".locks").exists()  # the build's locks are not the test's
    assert (second / "engine" / "engine.log").read_text() == ""  # the test's own log and engine are kept
    assert (second / "engine" / "bin" / "terraform").read_text() == "this test's own engine"
    assert s3.get_object(Bucket="kept", Key="streamflix/dev/fingerprints/data.json")["Body"].read() == b"{}"
