"""IAM policy documents as plain data: statements the tests can read back from the synthesized JSON."""

from __future__ import annotations

import json
from typing import Any


def statement(sid: str, actions: list[str], resources: list[str], **extra: Any) -> dict[str, Any]:
    """One Allow statement. Actions are always listed, never "*" or "service:*"."""
    for action in actions:
        if action == "*" or action.endswith(":*"):
            raise ValueError(f"{sid}: wildcard action {action!r}; list the actions instead")
    return {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": resources, **extra}


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, sort_keys=True)


def assume_role_policy(service: str, account_id: str) -> str:
    """Trust `service` on behalf of this account only (confused-deputy guard)."""
    return document(
        {
            "Sid": "AssumeBy" + service.split(".")[0].title().replace("-", ""),
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": ["sts:AssumeRole"],
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
        }
    )
