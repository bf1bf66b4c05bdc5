"""What security group rules open, and whether a plan opens more than before: the network half of
shared/ops/runner/widening.py. A rule opens a protocol, a port range and a peer (a CIDR, a group, a prefix list,
itself) in a direction on its group; a new opening is wider unless an opening of the same group before it
already covered it (a narrower CIDR inside a wider one, fewer ports, the same peer). Pure functions on a plan's
`show -json` resource changes, and the small readers of its loosely typed values both halves share."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

# Rule resources of their own: their direction.
RULE_RESOURCES = {
    "aws_vpc_security_group_ingress_rule": "ingress",
    "aws_vpc_security_group_egress_rule": "egress",
}
# Groups whose rules are inline blocks.
GROUP_RESOURCES = ("aws_security_group", "aws_default_security_group")


def as_dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def dicts(value: object) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def listed(value: object) -> list[str]:
    """A value or a list of them, as strings (None: nothing)."""
    if value is None:
        return []
    return [str(v) for v in value if v is not None] if isinstance(value, list) else [str(value)]


# What one rule opens: its group, direction, protocol, port range and peer ("cidr 10.0.0.0/16", "group sg-1",
# "prefix list pl-1", "self").
Opening = tuple[str, str, str, int, int, str]


def widenings(changes: list[dict]) -> list[tuple[str, str]]:
    before = [o for rc in changes for o in _openings(rc, rc["change"].get("before"))]
    found = []
    for rc in changes:
        if not {"create", "update"} & set(listed(rc["change"].get("actions"))):
            continue
        rtype = rc.get("type") or rc["address"].split(".", 1)[0]
        unknown = as_dict(rc["change"].get("after_unknown"))
        if rtype in GROUP_RESOURCES:  # inline rules known only after apply cannot be judged beforehand
            found += [
                (rc["address"], f"has {d} rules known only after apply: they cannot be checked before")
                for d in ("ingress", "egress")
                if unknown.get(d) is True
            ]
        after = _openings(rc, rc["change"].get("after"))
        wider = [o for o in after if not any(_opens_at_least(old, o) for old in before)]
        found += [(rc["address"], _say(o)) for o in dict.fromkeys(wider)]
    return found


def _openings(rc: dict, values: object) -> list[Opening]:
    if not isinstance(values, dict) or not values:
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
            for block in dicts(values.get(direction))
            for o in _block_openings(group, direction, block)
        ]
    return []


# Protocol numbers as the rules may name them.
PROTOCOLS = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6", "all": "-1"}


def _protocol(value: object) -> str:
    name = str(value if value not in (None, "") else "-1").lower()
    return PROTOCOLS.get(name, name)


def _port(value: object, default: int) -> int:
    try:
        port = int(value)
    except (TypeError, ValueError):
        return default
    return default if port < 0 else port


def _ports(protocol: str, low: object, high: object) -> tuple[int, int]:
    if protocol == "-1":
        return 0, 65535
    return _port(low, 0), _port(high, 65535)


def _rule_openings(group: str, direction: str, rule: dict) -> Iterable[Opening]:
    protocol = _protocol(rule.get("ip_protocol"))
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
    protocol = _protocol(block.get("protocol"))
    low, high = _ports(protocol, block.get("from_port"), block.get("to_port"))
    peers = [f"cidr {c}" for c in listed(block.get("cidr_blocks")) + listed(block.get("ipv6_cidr_blocks"))]
    peers += [f"prefix list {p}" for p in listed(block.get("prefix_list_ids"))]
    peers += [f"group {g}" for g in listed(block.get("security_groups"))]
    peers += [f"group {block['source_security_group_id']}"] if block.get("source_security_group_id") else []
    peers += ["self"] if block.get("self") else []
    return [(group, direction, protocol, low, high, p) for p in peers]


def _opens_at_least(old: Opening, new: Opening) -> bool:
    same_place = old[:2] == new[:2]
    protocol = old[2] == "-1" or old[2] == new[2]
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
    what = "all traffic" if protocol == "-1" else f"{protocol} {low}" + (f"-{high}" if high != low else "")
    peer = peer.removeprefix("cidr ")
    return f"admits {what} from {peer}" if direction == "ingress" else f"sends {what} to {peer}"
