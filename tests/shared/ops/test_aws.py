"""AWS sessions: each resolves credentials anew, and carries botocore's handlers, also ones added late."""

from __future__ import annotations

import botocore.handlers

from shared.ops.aws import new_session


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
