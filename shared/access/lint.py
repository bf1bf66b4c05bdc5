"""parliament's review of a policy document, less what only says its database is older than policy_sentry's or
that a create which takes several resources is granted them in more than one statement."""

from __future__ import annotations

import functools
import json


@functools.cache
def _known(action: str) -> bool:
    """Whether policy_sentry's (newer) database has the action, or actions that a prefix pattern matches."""
    from policy_sentry.querying.actions import get_actions_for_service

    service, name = action.lower().split(":", 1)
    actions = [a.lower().split(":", 1)[1] for a in get_actions_for_service(service)]
    return any(a.startswith(name[:-1]) for a in actions) if name.endswith("*") else name in actions


@functools.cache
def _acts_on(arn: str) -> frozenset[str]:
    from policy_sentry.querying.actions import get_actions_matching_arn

    return frozenset(a.lower() for a in get_actions_matching_arn(arn))


@functools.cache
def _condition_known(detail: str) -> bool:
    """`Unknown condition <key> for action <action>`, where policy_sentry's database has the key for it."""
    from policy_sentry.querying.actions import get_action_data

    words = detail.split()
    key, action = words[2], words[-1]
    service, name = action.split(":")
    data = get_action_data(service, name).get(service, [])
    return any(key.lower() in (k.lower() for k in d.get("condition_keys", [])) for d in data)


def _partial(detail: list[dict], resources: list[str]) -> bool:
    """A RESOURCE_MISMATCH that only says an action also takes resource types this statement does not name (AWS
    authorizes each resource of a call on its own: CreateDBCluster's subnet group is granted in its own
    statement): every action named acts on one of the statement's resources."""
    return all(any(d["action"].lower() in _acts_on(r) for r in resources) for d in detail)


def findings(doc: dict) -> list[str]:
    """parliament's findings on `doc`, each as `ISSUE: detail`, less UNKNOWN_ACTION where policy_sentry knows
    the action (parliament 1.6.4's database ends in 2023; AWS has added actions since) and partial
    RESOURCE_MISMATCHes (_partial)."""
    from parliament import analyze_policy_string

    found = []
    for statement in doc["Statement"]:
        one = {**doc, "Statement": [statement]}
        for f in analyze_policy_string(json.dumps(one)).findings:
            if f.issue == "UNKNOWN_ACTION" and _known(str(f.detail).split()[-1]):
                continue
            if f.issue == "RESOURCE_MISMATCH" and _partial(f.detail, statement["Resource"]):
                continue
            if f.issue == "UNKNOWN_CONDITION_FOR_ACTION" and _condition_known(str(f.detail)):
                continue
            detail = f.detail if isinstance(f.detail, str) else json.dumps(f.detail, sort_keys=True)
            found.append(f"{statement.get('Sid')}: {f.issue}: {detail}")
    return found
