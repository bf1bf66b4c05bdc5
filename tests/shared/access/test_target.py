"""A target's ARNs come from the synthesized names, exactly; what it cannot name is an error that says where."""

from __future__ import annotations

import pytest

from shared.access.target import Resource, Target, UnknownResource, resources_of
from tests.shared.access.targets import target


def test_named_arns_are_the_exact_synthesized_names(synth, configs):
    arns = target(synth, configs, "prod").named_arns()
    assert "arn:aws:kinesis:us-east-1:123456789012:stream/streamflix-ingest-prod" in arns
    assert "arn:aws:sqs:us-east-1:123456789012:streamflix-jobs-dlq-prod" in arns
    assert all("*" not in a.split(":")[-1] or a.endswith(":*") or "/*/" in a or "??????" in a for a in arns), arns


def test_a_computed_name_and_an_unknown_type_are_refused_with_their_address(configs):
    computed = Resource("aws_sqs_queue", "data-dev.aws_sqs_queue.q", (("name", "${var.x}"),))
    with pytest.raises(UnknownResource, match=r"data-dev.aws_sqs_queue.q: its name is computed"):
        Target(configs["dev"], "1", "aws", (computed,)).named_arns()
    unknown = Resource("aws_lambda_function", "compute-dev.aws_lambda_function.f", ())
    with pytest.raises(UnknownResource, match=r"does not say how the CI roles reach a aws_lambda_function"):
        Target(configs["dev"], "1", "aws", (unknown,)).tagged_arns()


def test_a_resource_of_another_regions_provider_is_reached_in_that_region(synth, configs):
    # The backups' copy vault and its key live in data.backup.copy_region, through the provider alias.
    prod = target(synth, configs, "prod")
    copy_region = configs["prod"].data.backup.copy_region
    arns = prod.named_arns()
    assert f"arn:aws:backup:{copy_region}:123456789012:backup-vault:streamflix-backups-copy-prod" in arns
    assert f"arn:aws:kms:{copy_region}:123456789012:alias/streamflix-backup-copy-prod" in arns
    assert "arn:aws:backup:us-east-1:123456789012:backup-vault:streamflix-backups-prod" in arns
    assert ("kms", f"arn:aws:kms:{copy_region}:123456789012:key/*") in prod.tagged_arns()
    assert not any(f":{copy_region}:" in a for a in arns if ":backup-vault:streamflix-backups-prod" in a)


def test_a_provider_alias_the_stack_does_not_declare_is_refused_with_its_address():
    stack = {
        "provider": {"aws": [{"region": "us-east-1"}]},
        "resource": {"aws_sqs_queue": {"q": {"provider": "aws.x"}}},
    }
    with pytest.raises(UnknownResource, match=r"data-dev.aws_sqs_queue.q: its provider 'aws.x' is not among"):
        resources_of({"data-dev": stack})
