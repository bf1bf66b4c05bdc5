"""The emulator's quirks: ignored in emulated environments only, on exactly the listed attributes."""

from __future__ import annotations

import pytest

from shared.emulator_quirks import GAPS, IMITATIONS, QUIRKS, ignored, lacks, not_created

STACKS = ("network", "data", "compute", "monitoring")
QUIRKY = {(q.resource_type, q.attribute) for q in QUIRKS}


def ignoring(stack_json: dict) -> dict[tuple[str, str], list[str]]:
    return {
        (rtype, name): body.get("lifecycle", {}).get("ignore_changes", [])
        for rtype, items in stack_json.get("resource", {}).items()
        for name, body in items.items()
    }


def test_each_quirk_is_one_attribute_with_a_reason():
    assert len(QUIRKY) == len(QUIRKS), "a quirk is listed twice"
    for quirk in QUIRKS:
        assert quirk.resource_type.startswith("aws_") and quirk.attribute and quirk.emulator == "moto"
        assert len(quirk.reason.split()) >= 4, quirk


def test_the_local_environment_ignores_every_listed_attribute_on_every_resource_of_its_type(synth):
    seen = set()
    for stack in STACKS:
        for (rtype, name), ignores in ignoring(synth.stack(stack, "local")).items():
            assert ignores[-len(ignored(rtype)) or len(ignores) :] == ignored(rtype), (stack, rtype, name, ignores)
            seen |= {(rtype, a) for a in ignores}
    assert seen >= QUIRKY, f"listed but matching no resource of local: {sorted(QUIRKY - seen)}"


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_a_real_environment_ignores_none_of_them(synth, env):
    for stack in STACKS:
        for (rtype, name), ignores in ignoring(synth.stack(stack, env)).items():
            assert not {(rtype, a) for a in ignores} & QUIRKY, (stack, rtype, name, ignores)


def test_what_a_resource_ignores_of_its_own_stays_beside_the_quirks(variants):
    service = variants.one("compute", "emulated", "aws_ecs_service")
    assert service["lifecycle"]["ignore_changes"] == ["desired_count", *ignored("aws_ecs_service")]
    cluster = variants.one("data", "emulated", "aws_rds_cluster")
    assert cluster["lifecycle"]["ignore_changes"] == ["final_snapshot_identifier", *ignored("aws_rds_cluster")]


def test_each_gap_is_a_service_boto3_knows_with_what_it_answers_and_what_is_done_instead():
    import boto3

    known = set(boto3.session.Session().get_available_services())
    for gap in GAPS:
        assert gap.service in known and lacks(gap.service) is gap, gap
        assert len(gap.answer.split()) >= 4 and len(gap.instead.split()) >= 4, gap
    assert lacks("s3") is None


def test_each_imitation_names_a_call_what_the_emulator_does_instead_and_what_that_leaves_unproven():
    assert IMITATIONS, "the RDS-managed password's calls are answered otherwise than AWS does"
    for imitation in IMITATIONS:
        service, _, operation = imitation.call.partition(":")
        assert service and operation[:1].isupper() and imitation.emulator == "moto", imitation
        assert len(imitation.instead.split()) >= 4 and len(imitation.untested.split()) >= 4, imitation


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_a_real_environment_creates_what_an_emulated_one_leaves_out(synth, env):
    left_out = {i.not_created for i in IMITATIONS if i.not_created}
    assert left_out and all(not_created(rtype) for rtype in left_out)
    for rtype in left_out:
        assert any(synth.resources(stack, env, rtype) for stack in STACKS), (env, rtype)
        assert not any(synth.resources(stack, "local", rtype) for stack in STACKS), rtype
