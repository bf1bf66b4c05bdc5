"""Console output: a line shown as it comes, or kept in this thread's block; a console that is gone never stops
the work."""

from __future__ import annotations

import io
import threading

from shared.ops.engine import console


def test_a_line_goes_to_the_console_unless_this_thread_collects_a_block(capsys):
    console.emit("shown now")
    assert capsys.readouterr().out == "shown now\n"
    collected: list[str] = []

    def worker() -> None:
        console.OUTPUT.buffer = collected
        console.emit("kept for the block")
        console.OUTPUT.buffer = None

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert collected == ["kept for the block\n"] and capsys.readouterr().out == ""


def test_a_console_that_is_gone_is_no_error():
    closed = io.StringIO()
    closed.close()
    console.write("the terminal went away\n", closed)  # would raise ValueError on a closed stream


def test_a_notice_goes_to_stderr_set_apart(capsys):
    console.say("interrupted")
    assert capsys.readouterr().err == "\ninterrupted\n"
