"""A provider the engine cannot install is explained; any other init failure is not this module's to explain."""

from __future__ import annotations

from shared.ops.engine.provider_install import explain, full_source, required

STACK = {
    "terraform": {
        "required_providers": {
            "aws": {"source": "aws", "version": "6.25.0"},
            "random": {"source": "hashicorp/random", "version": "3.7.2"},
        }
    }
}


def test_every_spelling_of_a_source_is_its_full_address():
    assert full_source("aws") == full_source("hashicorp/aws") == "registry.terraform.io/hashicorp/aws"
    assert required(STACK) == {
        "registry.terraform.io/hashicorp/aws": "6.25.0",
        "registry.terraform.io/hashicorp/random": "3.7.2",
    }


def test_a_provider_the_registry_does_not_serve_is_named_with_its_version(monkeypatch):
    monkeypatch.delenv("TF_PROVIDER_MIRROR", raising=False)
    output = (
        "Error: Failed to query available provider packages\n\nCould not retrieve the list of available "
        "versions for provider hashicorp/random: could not connect to registry.terraform.io"
    )
    message = explain(output, "data-dev", STACK)
    assert message.startswith("data-dev needs the provider hashicorp/random 3.7.2, and the engine cannot install it")
    assert "the mirrors of your own CLI configuration" in message and message.endswith(output)


def test_another_init_failure_is_left_to_the_caller():
    assert explain("Error: error configuring S3 Backend: no valid credential sources", "data-dev", STACK) is None
