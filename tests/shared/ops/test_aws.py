"""AWS sessions: each resolves credentials anew, and carries botocore's handlers, also ones added late; within one
command each client is made once."""

from __future__ import annotations

import threading

import botocore.handlers

from shared.config import load_environment
from shared.ops import aws
from shared.ops.aws import client, new_session, one_command


def test_each_session_resolves_the_credentials_of_the_moment(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "first")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    assert new_session().get_credentials().access_key == "first"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "second")  # e.g. a refreshed login between two commands
    assert new_session().get_credentials().access_key == "second"


def test_sessions_carry_botocore_handlers_and_ones_a_library_adds_later(monkeypatch):
    # moto, for one, adds its handler to botocore's list when it is imported, which can be after the
    # first session was made: sessions made from then on must carry it.
    seen = []
    builtin = list(botocore.handlers.BUILTIN_HANDLERS)
    monkeypatch.setattr(botocore.handlers, "BUILTIN_HANDLERS", builtin)
    new_session()
    builtin.append(("before-send.s3", lambda **_: seen.append("late")))  # appended in place, as moto does
    new_session().events.emit("before-send.s3.PutObject", request=None)
    assert seen == ["late"]  # there, and once: the handlers are copied in, not registered a second time
    builtin[-1] = ("before-send.s3", lambda **_: seen.append("other"))  # as many handlers, not the same ones
    new_session().events.emit("before-send.s3.PutObject", request=None)
    assert seen == ["late", "other"]


def test_within_one_command_each_client_is_made_once_and_shared_by_its_threads(monkeypatch):
    # A deploy asks for the state bucket's client dozens of times: made anew each time, it cost a third of
    # a deploy's own time. Outside a command nothing is kept: the next command resolves credentials anew.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "k")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s")
    dev, local = load_environment("dev"), load_environment("local")
    assert client("s3", dev) is not client("s3", dev)
    with one_command():
        s3 = client("s3", dev)
        seen = []
        thread = threading.Thread(target=lambda: seen.append(client("s3", dev)))
        thread.start()
        thread.join()
        with one_command():  # a runner inside a command: the command's clients
            assert client("s3", dev) is s3 is seen[0]
        assert client("s3", dev, region="eu-west-1") is not s3  # what makes a client differ, differs
        assert client("sts", dev) is not s3
        assert client("s3", local) is not s3 and client("s3", local).meta.endpoint_url == local.aws.endpoint
        assert client("s3", dev, session=new_session(dev)) is not s3  # a session of the caller's: its own
    assert aws._COMMAND_CLIENTS is None
    assert client("s3", dev) is not s3


def test_an_emulator_on_this_machine_is_asked_once_and_aws_retried(monkeypatch):
    # An unsupported API's 500 from the emulator is its answer: a second of backoff only delayed the message.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "k")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s")
    dev, local = load_environment("dev"), load_environment("local")
    assert client("s3", dev).meta.config.retries["total_max_attempts"] == 6  # five retries
    assert client("s3", local).meta.config.retries["total_max_attempts"] == 1
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")  # a real environment's file, an emulator
    assert client("s3", dev).meta.config.retries["total_max_attempts"] == 1
