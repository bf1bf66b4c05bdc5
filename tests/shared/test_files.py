"""Atomic writes: the old content or the new, never part, and nothing left beside the file."""

from __future__ import annotations

import pytest

from shared.files import write_atomically


def test_a_write_replaces_the_file_whole(tmp_path):
    path = tmp_path / "outputs.json"
    path.write_text("old")
    assert write_atomically(path, "new") == path and path.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outputs.json"]


def test_a_failed_write_keeps_the_old_content_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "outputs.json"
    path.write_text("old")
    with pytest.raises(UnicodeEncodeError):
        write_atomically(path, "caf\udce9")  # not encodable: fails while writing the temporary file
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outputs.json"]
