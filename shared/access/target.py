"""What a policy is written for: one environment, its account, and the resources its synthesized stacks hold."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from shared.access.grants import GRANTS, Create, Named, Related, Tagged, Unscoped
from shared.config import EnvironmentConfig
from shared.naming import STACK_NAMES, stack_id


class UnknownResource(ValueError):
    """A resource the stacks hold that the grants table does not say how to reach."""


@dataclass(frozen=True)
class Resource:
    type: str
    address: str  # <stack id>.<type>.<name>: where a message points
    attributes: tuple[tuple[str, str], ...]  # its string-valued attributes, as synthesized
    # The region of its provider where that is not the environment's (a provider alias: the backups' copy
    # region); None: the environment's region.
    region: str | None = None

    def attribute(self, name: str) -> str | None:
        return dict(self.attributes).get(name)


@dataclass(frozen=True)
class Target:
    env: EnvironmentConfig
    account: str
    partition: str
    resources: tuple[Resource, ...]

    def fill(self, template: str, region: str | None = None, **more: str) -> str:
        """The template's ARN in this environment: `region` where a resource lives in another (see Resource)."""
        return template.format(
            partition=self.partition, region=region or self.env.aws.region, account=self.account, **more
        )

    def types(self) -> set[str]:
        return {r.type for r in self.resources}

    def named_arns(self) -> list[str]:
        """Every named resource's exact ARN, in the order of the resources."""
        arns: list[str] = []
        for resource in self.resources:
            for grant in _grants(resource):
                if isinstance(grant, Named):
                    name = resource.attribute(grant.attribute)
                    if not name or "${" in name:
                        raise UnknownResource(
                            f"{resource.address}: its {grant.attribute} is computed ({name!r}), so no policy can "
                            "name it before it exists; give it a literal name or reach it by tag in "
                            "shared/access/grants.py"
                        )
                    arns.append(self.fill(grant.arn, resource.region, name=name))
        return list(dict.fromkeys(arns))

    def tagged_arns(self) -> list[tuple[str, str]]:
        """(service, ARN with any id) of every resource type reached by the environment's tag."""
        found = [
            (g.service, self.fill(g.arn, r.region)) for r in self.resources for g in _grants(r) if isinstance(g, Tagged)
        ]
        return list(dict.fromkeys(found))

    def tagged_creates(self) -> dict[str, list[str]]:
        """{ARN with any id: the calls that create a resource of that type} of the types reached by tag."""
        found: dict[str, set[str]] = {}
        for r in self.resources:
            for g in _grants(r):
                if isinstance(g, Tagged) and g.creates:
                    found.setdefault(self.fill(g.arn, r.region), set()).update(g.creates)
        return {arn: sorted(actions) for arn, actions in found.items()}

    def related_arns(self) -> list[str]:
        """ARNs (any id) of the resource types that reading the environment's resources asks about."""
        return list(
            dict.fromkeys(
                self.fill(g.arn, r.region) for r in self.resources for g in _grants(r) if isinstance(g, Related)
            )
        )

    def unscoped(self) -> list[str]:
        """Changes AWS offers no resource or condition for that managing the environment's resources needs."""
        return sorted({g.action for r in self.resources for g in _grants(r) if isinstance(g, Unscoped)})

    def creates(self) -> list[str]:
        found = [g.action for r in self.resources for g in _grants(r) if isinstance(g, Create)]
        return sorted(set(found))

    def services(self) -> list[str]:
        named = [arn.split(":")[2] for arn in self.named_arns()]
        return sorted(
            {
                *named,
                *(s for s, _ in self.tagged_arns()),
                *(a.split(":")[0] for a in [*self.creates(), *self.unscoped()]),
            }
        )

    def role_policies(self) -> list[dict]:
        """The statements of every inline policy the stacks give their roles, as synthesized."""
        statements = []
        for resource in self.resources:
            if resource.type == "aws_iam_role_policy" and (policy := resource.attribute("policy")):
                statements.extend(json.loads(policy)["Statement"])
        return statements

    def attached_policies(self) -> list[str]:
        return sorted({r.attribute("policy_arn") or "" for r in self.resources if r.type.endswith("_attachment")})


def _grants(resource: Resource):
    if resource.type not in GRANTS:
        raise UnknownResource(
            f"{resource.address}: shared/access/grants.py does not say how the CI roles reach a {resource.type}; "
            "add it there (by its name's ARN, or by the environment's tag)"
        )
    return GRANTS[resource.type]


def resources_of(stacks: dict[str, dict]) -> tuple[Resource, ...]:
    """The resources of synthesized stacks ({stack id: cdk.tf.json document}), in a stable order."""
    found = []
    for sid in sorted(stacks):
        regions = _provider_regions(sid, stacks[sid])
        for rtype, by_name in sorted(stacks[sid].get("resource", {}).items()):
            for name, body in sorted(by_name.items()):
                attrs = tuple(sorted((k, v) for k, v in body.items() if isinstance(v, str)))
                region = regions.get(body.get("provider", "aws"))
                if region is None:
                    raise UnknownResource(
                        f"{sid}.{rtype}.{name}: its provider {body.get('provider')!r} is not among the stack's "
                        f"providers ({', '.join(sorted(regions))})"
                    )
                found.append(Resource(rtype, f"{sid}.{rtype}.{name}", attrs, region or None))
    return tuple(found)


def _provider_regions(sid: str, stack: dict) -> dict[str, str]:
    """{`aws` or `aws.<alias>`: its region} of a synthesized stack; "" for the default provider (the
    environment's region). A resource names its provider `aws.<alias>` where it lives in another region."""
    found = {"aws": ""}
    for provider in stack.get("provider", {}).get("aws", []):
        if alias := provider.get("alias"):
            if not isinstance(provider.get("region"), str) or "${" in provider["region"]:
                raise UnknownResource(f"{sid}: the AWS provider {alias!r} has no literal region")
            found[f"aws.{alias}"] = provider["region"]
    return found


def read_synthesized(env: EnvironmentConfig, stacks_dir: Path) -> dict[str, dict]:
    """Each stack's synthesized document of `env`, from cdktf.out/stacks."""
    return {
        stack_id(s, env.suffix): json.loads((stacks_dir / stack_id(s, env.suffix) / "cdk.tf.json").read_text())
        for s in STACK_NAMES
    }
