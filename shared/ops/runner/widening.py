"""Access widening: what a plan grants that nothing granted before, in IAM policies and security group rules.

`cdk deploy --require-approval broadening` stops for the same thing. A plan widens access when, after it:
- a policy document (any `policy` or `assume_role_policy` of a managed resource: role and inline policies, key,
  topic, queue, bucket and endpoint policies) allows a principal, action and resource, under its conditions,
  that no statement allowed before (a wildcard before covers what it matches; a condition dropped widens), or no
  longer denies what it denied; a policy known only after apply cannot be judged beforehand, and says so;
- a managed policy is attached to a role;
- a security group (its inline rules, or a rule resource of its own) admits or sends a protocol, port range
  and peer that no rule of that group did before (a narrower CIDR inside a wider old one is not wider).
A finding is shown with the plan; a deploy needs a yes for it wherever the environment is real
(shared/ops/runner/actions.py). Pure functions on a plan's `show -json`; nothing here runs anything.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase

# The attributes of a managed resource that hold an IAM policy document (a JSON string), whatever the type.
POLICY_ATTRIBUTES = ("policy", "assume_role_policy")
# Resource types that attach a managed policy (its ARN) to a principal.
ATTACHMENTS = {"aws_iam_role_policy_attachment": "policy_arn", "aws_iam_user_policy_attachment": "policy_arn"}
# Rule resources of their own: their direction.
RULE_RESOURCES = {
    "aws_vpc_security_group_ingress_rule": "ingress",
    "aws_vpc_security_group_egress_rule": "egress",
}
# Groups whose rules are inline blocks.
GROUP_RESOURCES = ("aws_security_group", "aws_default_security_group")
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
    changes = [rc for rc in plan.get("resource_changes", []) if rc.get("mode", "managed") == "managed"]
    configured = _configured(plan)
    for rc in changes:
        change, rtype = rc["change"], rc.get("type") or rc["address"].split(".", 1)[0]
        if not {"create", "update"} & set(change["actions"]):
            continue
        for name in POLICY_ATTRIBUTES:
            # A policy the code does not set (a queue's or a topic's own, which a policy resource of its own sets)
            # is the provider's to compute: unknown there is not a grant to judge.
            sets_it = configured is None or name in configured.get(_INDEX.sub("", rc["address"]), ())
            found += (Widening(stack, rc["address"], what) for what in _policy_widening(name, change, sets_it))
        if rtype in ATTACHMENTS and "create" in change["actions"]:
            arn = (change.get("after") or {}).get(ATTACHMENTS[rtype])
            if arn is not None or (change.get("after_unknown") or {}).get(ATTACHMENTS[rtype]) is True:
                found.append(Widening(stack, rc["address"], f"attaches {arn or 'a policy known only after apply'}"))
    found += _network_widenings(stack, changes)
    return found


# ------------------------------------------------------------------ policy documents

# One thing a statement allows (or denies): principal, action, resource, its conditions (canonical JSON).
# NotAction/NotResource/NotPrincipal items carry a "not " prefix and only ever match themselves.
Grant = tuple[str, str, str, str]


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
    before, after = change.get("before") or {}, change.get("after") or {}
    if (change.get("after_unknown") or {}).get(name) is True:
        if not sets_it:
            return []
        return [f"has a {name} known only after apply: it cannot be checked before it is applied"]
    new_doc, old_doc = _document(after.get(name)), _document(before.get(name)) or {"Statement": []}
    if new_doc is None:
        return []
    old_allows, old_denies = _grants(old_doc, "Allow"), _grants(old_doc, "Deny")
    new_allows, new_denies = _grants(new_doc, "Allow"), _grants(new_doc, "Deny")
    widened = [g for g in new_allows if not any(_covers(o, g) for o in old_allows)]
    undenied = [g for g in old_denies if g not in new_denies]
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


def _listed(value: object) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _principals(statement: dict) -> list[str]:
    if "NotPrincipal" in statement:
        return [f"not {p}" for p in _principal_items(statement["NotPrincipal"])]
    if "Principal" not in statement:
        return [""]  # an identity policy: its principal is whoever holds it
    return _principal_items(statement["Principal"])


def _principal_items(value: object) -> list[str]:
    if value == "*":
        return ["*"]
    if isinstance(value, dict):
        return [f"{kind}:{p}" for kind, ps in sorted(value.items()) for p in _listed(ps)]
    return _listed(value)


def _grants(doc: dict, effect: str) -> list[Grant]:
    statements = doc.get("Statement")
    statements = statements if isinstance(statements, list) else [statements]
    grants: list[Grant] = []
    for st in statements:
        if not isinstance(st, dict) or st.get("Effect") != effect:
            continue
        actions = [f"not {a}" for a in _listed(st.get("NotAction"))] or _listed(st.get("Action"))
        resources = [f"not {r}" for r in _listed(st.get("NotResource"))] or _listed(st.get("Resource")) or [""]
        condition = json.dumps(st.get("Condition") or {}, sort_keys=True)
        grants += [(p, a, r, condition) for p in _principals(st) for a in actions for r in resources]
    return list(dict.fromkeys(grants))


def _matches(pattern: str, value: str, *, fold: bool = False) -> bool:
    if pattern.startswith("not ") or value.startswith("not "):
        return pattern == value
    if fold:  # actions are case-insensitive in IAM
        pattern, value = pattern.lower(), value.lower()
    return pattern == value or fnmatchcase(value, pattern)


def _covers(old: Grant, new: Grant) -> bool:
    """Whether an old grant allowed at least what a new one allows (a condition only narrows: an old grant with
    none covers one with any, one with conditions covers only the same conditions)."""
    return (
        (old[0] == new[0] or old[0] in ("*", "AWS:*"))
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


# ------------------------------------------------------------------ security groups

# What one rule opens: its group, direction, protocol, port range and peer ("cidr 10.0.0.0/16", "group sg-1",
# "prefix list pl-1", "self").
Opening = tuple[str, str, str, int, int, str]


def _network_widenings(stack: str, changes: list[dict]) -> list[Widening]:
    before = [o for rc in changes for o in _openings(rc, rc["change"].get("before"))]
    found = []
    for rc in changes:
        if not {"create", "update"} & set(rc["change"]["actions"]):
            continue
        after = _openings(rc, rc["change"].get("after"))
        wider = [o for o in after if not any(_opens_at_least(old, o) for old in before)]
        found += [Widening(stack, rc["address"], _say(o)) for o in dict.fromkeys(wider)]
    return found


def _openings(rc: dict, values: dict | None) -> list[Opening]:
    if not values:
        return []
    rtype = rc.get("type") or rc["address"].split(".", 1)[0]
    if rtype in RULE_RESOURCES:
        group = str(values.get("security_group_id") or rc["address"])
        return list(_rule_openings(group, RULE_RESOURCES[rtype], values))
    if rtype == "aws_security_group_rule":
        group = str(values.get("security_group_id") or rc["address"])
        return list(_block_openings(group, str(values.get("type")), values))
    if rtype in GROUP_RESOURCES:
        group = str(values.get("id") or rc["address"])
        return [
            o
            for direction in ("ingress", "egress")
            for block in values.get(direction) or []
            for o in _block_openings(group, direction, block)
        ]
    return []


def _ports(protocol: str, low: object, high: object) -> tuple[int, int]:
    if protocol in ("-1", "all"):
        return 0, 65535
    return (int(low) if low is not None else 0), (int(high) if high is not None else 65535)


def _rule_openings(group: str, direction: str, rule: dict) -> Iterable[Opening]:
    protocol = str(rule.get("ip_protocol") or "-1")
    low, high = _ports(protocol, rule.get("from_port"), rule.get("to_port"))
    peers = [
        f"cidr {rule['cidr_ipv4']}" if rule.get("cidr_ipv4") else "",
        f"cidr {rule['cidr_ipv6']}" if rule.get("cidr_ipv6") else "",
        f"prefix list {rule['prefix_list_id']}" if rule.get("prefix_list_id") else "",
        f"group {rule['referenced_security_group_id']}" if rule.get("referenced_security_group_id") else "",
    ]
    return [(group, direction, protocol, low, high, p) for p in peers if p] or [
        (group, direction, protocol, low, high, "a peer known only after apply")
    ]


def _block_openings(group: str, direction: str, block: dict) -> Iterable[Opening]:
    protocol = str(block.get("protocol") or "-1")
    low, high = _ports(protocol, block.get("from_port"), block.get("to_port"))
    peers = [f"cidr {c}" for c in (block.get("cidr_blocks") or []) + (block.get("ipv6_cidr_blocks") or [])]
    peers += [f"prefix list {p}" for p in block.get("prefix_list_ids") or []]
    groups = block.get("security_groups") or []
    peers += [f"group {g}" for g in (groups if isinstance(groups, list) else [groups])]
    peers += [f"group {block['source_security_group_id']}"] if block.get("source_security_group_id") else []
    peers += ["self"] if block.get("self") else []
    return [(group, direction, protocol, low, high, p) for p in peers]


def _opens_at_least(old: Opening, new: Opening) -> bool:
    same_place = old[:2] == new[:2]
    protocol = old[2] in ("-1", "all") or old[2] == new[2]
    ports = old[3] <= new[3] and new[4] <= old[4]
    return same_place and protocol and ports and _peer_within(new[5], old[5])


def _peer_within(new: str, old: str) -> bool:
    if new == old:
        return True
    if not (new.startswith("cidr ") and old.startswith("cidr ")):
        return False
    try:
        inner, outer = ipaddress.ip_network(new[5:], strict=False), ipaddress.ip_network(old[5:], strict=False)
    except ValueError:
        return False
    return inner.version == outer.version and inner.subnet_of(outer)


def _say(opening: Opening) -> str:
    _, direction, protocol, low, high, peer = opening
    what = "all traffic" if protocol in ("-1", "all") else f"{protocol} {low}" + (f"-{high}" if high != low else "")
    peer = peer.removeprefix("cidr ")
    return f"admits {what} from {peer}" if direction == "ingress" else f"sends {what} to {peer}"
