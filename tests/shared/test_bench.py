"""`make bench`: numbers printed, never a failure on a wall-clock time."""

from __future__ import annotations


def test_bench_reports_the_ratio_without_failing(monkeypatch, capsys):
    from shared import bench

    times = iter([9.0, 2.0, 2.2, 2.1, 10.0, 9.0, 11.0])
    monkeypatch.setattr(bench, "_time_synth", lambda plain, outdir: next(times))
    monkeypatch.setattr(bench, "_bench_plans", lambda: print("plan of local: skipped"))
    monkeypatch.setattr(bench, "_bench_toolchains", lambda repeats: print("toolchains: skipped"))
    monkeypatch.setattr(bench, "_bench_suite", lambda repeats: print("test suite: skipped"))
    bench.run(repeats=3)
    out = capsys.readouterr().out
    assert "fast import     2.10 s" in out and "plain import   10.00 s" in out
    assert "ratio           0.21     (meets the target of 0.35)" in out


def test_bench_puts_the_toolchains_side_by_side(monkeypatch, capsys, tmp_path):
    from shared import bench

    python = tmp_path / "python"
    monkeypatch.setattr(bench, "_toolchain_python", lambda name: python if name == "cdktf" else None)
    times = iter([4.0, 4.4, 4.2, 13.0, 12.0, 14.0])
    monkeypatch.setattr(bench, "_timed", lambda cmd, env: next(times))
    monkeypatch.setattr(bench, "_version", lambda python, dist: "0.21.0")
    bench._bench_toolchains(3)
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2].split() == ["cdktf", "0.21.0", "4.20", "s", "13.00", "s"]  # medians
    assert lines[-1].split()[:3] == ["cdktn", "not", "installed"] and "TOOLCHAIN=cdktn" in lines[-1]


def test_bench_measures_the_suite_against_the_median_import_and_names_what_failed(monkeypatch, capsys):
    import subprocess

    from shared import bench

    monkeypatch.delenv("PYTEST_CURRENT_TEST")  # as `make bench` runs it, not from inside a test
    imports = iter([12.0, 14.0, 10.0])
    monkeypatch.setattr(bench, "_timed", lambda cmd, env: next(imports))
    report = "....F\nFAILED tests/test_x.py::test_y - assert 1 == 2\n1 failed, 4 passed in 30.00s\n"
    monkeypatch.setattr(bench.subprocess, "run", lambda cmd, **kw: subprocess.CompletedProcess(cmd, 1, report, ""))
    bench._bench_suite(3)
    out = capsys.readouterr().out
    assert "plain import of the AWS bindings   12.00 s   (median of 12.00, 14.00, 10.00)" in out
    assert "1 failed, 4 passed in 30.00s" in out
    assert "  FAILED tests/test_x.py::test_y - assert 1 == 2" in out
