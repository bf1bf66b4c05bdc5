"""A target's ARNs come from the synthesized names, exactly; what it cannot name is an error that says where."""

from __future__ import annotations

import pytest

from shared.access.target import Resource, Target, UnknownResource
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
