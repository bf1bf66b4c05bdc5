"""Access widening: what a plan grants that nothing granted before, in IAM policies and security group rules.

`cdk deploy --require-approval broadening` stops for the same thing. A plan widens access when, after it:
- a policy document (any `policy` or `assume_role_policy` of a managed resource: role and inline policies, key,
  topic, queue, bucket and endpoint policies) allows a principal, action and resource, under its conditions,
  that no statement allowed before (a wildcard before covers what it matches; a condition dropped widens), or no
  longer denies what it denied; a policy known only after apply cannot be judged beforehand, and says so;
- a managed policy is attached (an attachment resource, or a role's managed_policy_arns), a role's inline_policy
  allows more, or a role's permissions boundary is dropped or changed;
- a security group (its inline rules, or a rule resource of its own) admits or sends a protocol, port range
  and peer that no rule of that group did before (a narrower CIDR inside a wider old one is not wider).
A finding is shown with the plan; a deploy needs a yes for it wherever the environment is real
(shared/ops/runner/actions.py). Pure functions on a plan's `show -json`; nothing here runs anything.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

from shared.ops.runner import openings
from shared.ops.runner.openings import as_dict, dicts, listed

# The attributes of a managed resource that hold an IAM policy document (a JSON string), whatever the type.
POLICY_ATTRIBUTES = ("policy", "assume_role_policy")
# Resource types that attach a managed policy (its ARN) to a principal.
ATTACHMENTS = {
    "aws_iam_role_policy_attachment": "policy_arn",
    "aws_iam_user_policy_attachment": "policy_arn",
    "aws_iam_group_policy_attachment": "policy_arn",
    "aws_iam_policy_attachment": "policy_arn",  # roles, users and groups at once
}
SHOWN_ITEMS = 4  # actions or resources named in one finding before the rest is a count


@dataclass(frozen=True)
class Widening:
    """One planned change that grants more access than before."""

    stack: str  # the stack's name: compute
    address: str  # aws_iam_role_policy.task_policy
    what: str  # "allows kinesis:GetRecords on arn:aws:kinesis:...:stream/x"

    def describe(self) -> str:
        return f"{self.stack}: {self.address} {self.what}"

    def as_dict(self) -> dict:
        return {"address": self.address, "widens": self.what}


def findings(stack: str, plan: dict) -> list[Widening]:
    """What a saved plan (`show -json`) widens, in the plan's order."""
    found: list[Widening] = []
    changes = [
        rc
        for rc in dicts(plan.get("resource_changes"))
        if rc.get("mode", "managed") == "managed" and isinstance(rc.get("change"), dict)
    ]
    configured = _configured(plan)
    attached_before = {_attachment(rc, rc["change"].get("before")) for rc in changes} - {None}
    for rc in changes:
        change, rtype = rc["change"], rc.get("type") or rc["address"].split(".", 1)[0]
        if not {"create", "update"} & set(listed(change.get("actions"))):
            continue
        for name in POLICY_ATTRIBUTES:
            # A policy the code does not set (a queue's or a topic's own, which a policy resource of its own sets)
            # is the provider's to compute: unknown there is not a grant to judge.
            sets_it = configured is None or name in configured.get(_INDEX.sub("", rc["address"]), ())
            found += (Widening(stack, rc["address"], what) for what in _policy_widening(name, change, sets_it))
        if rtype in ATTACHMENTS and "create" in change["actions"]:
            arn = as_dict(change.get("after")).get(ATTACHMENTS[rtype])
            if _attachment(rc, change.get("after")) in attached_before:
                continue  # the same policy on the same principal, at a new address: nothing new
            if arn is not None or as_dict(change.get("after_unknown")).get(ATTACHMENTS[rtype]) is True:
                found.append(Widening(stack, rc["address"], f"attaches {arn or 'a policy known only after apply'}"))
        if rtype == "aws_iam_role":
            found += (Widening(stack, rc["address"], what) for what in _role_widening(change))
    found += (Widening(stack, address, what) for address, what in openings.widenings(changes))
    return found


def _attachment(rc: dict, values: object) -> tuple | None:
    """What an attachment attaches to whom: (type, principal, policy ARN); None for anything else."""
    rtype = rc.get("type") or rc["address"].split(".", 1)[0]
    values = as_dict(values)
    if rtype not in ATTACHMENTS or not values.get(ATTACHMENTS[rtype]):
        return None
    principal = json.dumps({k: values.get(k) for k in ("role", "user", "group", "roles", "users", "groups")})
    return rtype, principal, values[ATTACHMENTS[rtype]]


def _role_widening(change: dict) -> list[str]:
    """What a role's own attributes widen beyond its policies: managed policies added, inline policies that allow
    more, and its permissions boundary (the ceiling of everything it may do) dropped or changed."""
    before, after, unknown = (
        as_dict(change.get("before")),
        as_dict(change.get("after")),
        as_dict(change.get("after_unknown")),
    )
    found = []
    old_boundary, new_boundary = before.get("permissions_boundary"), after.get("permissions_boundary")
    if unknown.get("permissions_boundary") is True:
        found.append("has a permissions boundary known only after apply: it cannot be checked before it is applied")
    elif old_boundary and old_boundary != new_boundary:
        found.append(f"changes its permissions boundary from {old_boundary} to {new_boundary or 'none'}")
    added = [a for a in listed(after.get("managed_policy_arns")) if a not in listed(before.get("managed_policy_arns"))]
    found += [f"attaches {arn}" for arn in added]
    old_inline = {str(i.get("name")): i.get("policy") for i in dicts(before.get("inline_policy"))}
    for inline in dicts(after.get("inline_policy")):
        name = str(inline.get("name"))
        inner = {"before": {"policy": old_inline.get(name)}, "after": {"policy": inline.get("policy")}}
        found += [f"(inline policy {name}) {what}" for what in _policy_widening("policy", inner)]
    return found


# ------------------------------------------------------------------ policy documents

# One thing a statement allows (or denies): principal, action, resource, its conditions (canonical JSON).
# A NotAction/NotResource/NotPrincipal list is one item, "not " and the sorted list as JSON: it means everything
# but what it lists, so it is only ever compared as a whole.
Grant = tuple[str, str, str, str]
NOT = "not "


def _configured(plan: dict) -> dict[str, set[str]] | None:
    """The attributes the code sets on each resource (the plan's `configuration`; None: the plan has none)."""
    resources = ((plan.get("configuration") or {}).get("root_module") or {}).get("resources")
    if not isinstance(resources, list):
        return None
    return {
        str(r.get("address")): set(r.get("expressions") or {})
        for r in resources
        if isinstance(r, dict) and isinstance(r.get("expressions") or {}, dict)
    }


_INDEX = re.compile(r"\[[^\]]*\]$")  # `x[0]`, `x["a"]`: the configuration names the resource without it


def _policy_widening(name: str, change: dict, sets_it: bool = True) -> list[str]:
    before, after = as_dict(change.get("before")), as_dict(change.get("after"))
    if as_dict(change.get("after_unknown")).get(name) is True:
        if not sets_it:
            return []
        return [f"has a {name} known only after apply: it cannot be checked before it is applied"]
    new_doc, old_doc = _document(after.get(name)), _document(before.get(name)) or {"Statement": []}
    if new_doc is None:
        return []
    old_allows, old_denies = _grants(old_doc, "Allow"), _grants(old_doc, "Deny")
    new_allows, new_denies = _grants(new_doc, "Allow"), _grants(new_doc, "Deny")
    widened = [g for g in new_allows if not any(_covers(o, g) for o in old_allows)]
    undenied = [g for g in old_denies if not any(_covers(n, g) for n in new_denies)]
    label = "trusts" if name == "assume_role_policy" else "allows"
    return [*_describe(label, widened), *_describe("no longer denies", undenied)]


def _document(value: object) -> dict | None:
    """A policy document from its JSON string (None: no policy, or not a document)."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        doc = json.loads(value)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) and "Statement" in doc else None


def _not(values: object) -> str:
    return NOT + json.dumps(sorted(values), sort_keys=True)


def _principals(statement: dict) -> list[str]:
    if "NotPrincipal" in statement:
        return [_not(_principal_items(statement["NotPrincipal"]))]
    if "Principal" not in statement:
        return [""]  # an identity policy: its principal is whoever holds it
    return _principal_items(statement["Principal"])


_ACCOUNT = re.compile(r"^\d{12}$")


def _principal_items(value: object) -> list[str]:
    if value == "*":
        return ["*"]
    if isinstance(value, dict):
        items = []
        for kind, principals in sorted(value.items()):
            for p in listed(principals):
                # An account ID and its root ARN name the same principal.
                items.append(f"{kind}:arn:aws:iam::{p}:root" if kind == "AWS" and _ACCOUNT.match(p) else f"{kind}:{p}")
        return items
    return listed(value)


def _grants(doc: dict, effect: str) -> list[Grant]:
    statements = doc.get("Statement")
    statements = statements if isinstance(statements, list) else [statements]
    grants: list[Grant] = []
    for st in statements:
        if not isinstance(st, dict) or st.get("Effect") != effect:
            continue
        actions = [_not(a.lower() for a in listed(st["NotAction"]))] if "NotAction" in st else listed(st.get("Action"))
        resources = [_not(listed(st["NotResource"]))] if "NotResource" in st else listed(st.get("Resource")) or [""]
        condition = json.dumps(_conditions(st.get("Condition")), sort_keys=True)
        grants += [(p, a, r, condition) for p in _principals(st) for a in actions for r in resources]
    return list(dict.fromkeys(grants))


def _conditions(value: object) -> dict:
    """Conditions in one form: a single value and a list of it are the same condition."""
    if not isinstance(value, dict):
        return {}
    return {
        op: {key: sorted(listed(v)) for key, v in keys.items()} if isinstance(keys, dict) else keys
        for op, keys in value.items()
    }


def _wildcard(pattern: str) -> re.Pattern:
    """IAM's matching: `*` any run of characters, `?` any one; everything else literal (no character classes)."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.DOTALL)


def _matches(pattern: str, value: str, *, fold: bool = False) -> bool:
    """Whether what `pattern` allows includes all that `value` allows (both may hold wildcards)."""
    if fold:  # actions are case-insensitive in IAM
        pattern, value = pattern.lower(), value.lower()
    if pattern == value or pattern == "*":
        return True
    if value.startswith(NOT) and pattern.startswith(NOT):  # everything but A covers everything but A and more
        return set(json.loads(pattern[len(NOT) :])) <= set(json.loads(value[len(NOT) :]))
    if value.startswith(NOT):
        return False
    if pattern.startswith(NOT):  # everything but these: covers a value none of them can match
        excluded = json.loads(pattern[len(NOT) :])
        return not any(_wildcard(e).fullmatch(value) or _wildcard(value).fullmatch(e) for e in excluded)
    if "*" in value or "?" in value:
        # A pattern covers another only as a prefix glob does (`s3:*` covers `s3:Get*`): anything finer is
        # judged as not covered, and shown.
        head = pattern[:-1]
        return pattern.endswith("*") and "*" not in head and "?" not in head and value.startswith(head)
    return bool(_wildcard(pattern).fullmatch(value))


def _covers(old: Grant, new: Grant) -> bool:
    """Whether an old grant allowed at least what a new one allows (a condition only narrows: an old grant with
    none covers one with any, one with conditions covers only the same conditions)."""
    return (
        (_matches(old[0], new[0]) or old[0] == "AWS:*")
        and _matches(old[1], new[1], fold=True)
        and _matches(old[2], new[2])
        and (old[3] == "{}" or old[3] == new[3])
    )


def _describe(label: str, grants: list[Grant]) -> Iterator[str]:
    """One finding per principal and conditions: `allows a, b on r1, r2 to p (with conditions)`."""
    groups: dict[tuple[str, str], tuple[list[str], list[str]]] = {}
    for principal, action, resource, condition in grants:
        actions, resources = groups.setdefault((principal, condition), ([], []))
        if action not in actions:
            actions.append(action)
        if resource and resource not in resources:
            resources.append(resource)
    for (principal, condition), (actions, resources) in groups.items():
        text = f"{label} {_some(actions)}"
        text += f" on {_some(resources)}" if resources else ""
        text += f" to {principal}" if principal else ""
        text += " (with conditions)" if condition != "{}" else ""
        yield text


def _some(items: list[str]) -> str:
    shown = ", ".join(items[:SHOWN_ITEMS])
    return shown + (f" and {len(items) - SHOWN_ITEMS} more" if len(items) > SHOWN_ITEMS else "")
