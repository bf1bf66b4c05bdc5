"""Loading environment files: every problem at once, with file, line and key path; a frozen object otherwise."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.config import ConfigError, available_environments, load_environment, load_environments
from shared.config.compute import ComputeConfig
from shared.config.data import KinesisConfig
from shared.paths import ROOT
from tests.support.synthesized import ENVIRONMENTS


def write(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(textwrap.dedent(body))
    return path


def problems(tmp_path: Path, body: str, name: str = "dev", **kw) -> list[str]:
    write(tmp_path, name, body)
    with pytest.raises(ConfigError) as exc:
        load_environment(name, directory=tmp_path, **kw)
    return exc.value.problems


MINIMAL = "aws:\n  region: eu-west-1\nstate:\n  bucket: tf-state-bucket\n"


def test_the_three_environments_exist_in_promotion_order():
    assert available_environments()[:3] == ["dev", "staging", "prod"]


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_every_environment_loads_into_a_frozen_object(name):
    env = load_environment(name)
    assert env.name == name and env.suffix == name
    with pytest.raises(ValidationError, match="frozen"):
        env.compute.cpu = 4096  # frozen: nothing mutates config past the loader


def test_defaults_are_dev_sized_and_live_in_code(tmp_path):
    write(tmp_path, "dev", MINIMAL)
    env = load_environment("dev", directory=tmp_path)
    assert env.data.kinesis.shard_count == 1
    assert (env.data.aurora.min_acu, env.data.aurora.max_acu, env.data.aurora.instances) == (0.5, 1.0, 1)
    assert env.compute.desired_count == 1 and env.network.nat_gateways == 0
    assert env.logs.retention_days == 7


def test_environments_differ_in_sizing(configs):
    dev, staging, prod = configs["dev"], configs["staging"], configs["prod"]
    assert dev.data.kinesis.shard_count < staging.data.kinesis.shard_count < prod.data.kinesis.shard_count
    assert dev.data.aurora.max_acu < staging.data.aurora.max_acu < prod.data.aurora.max_acu
    assert prod.data.aurora.instances >= 2 and dev.data.aurora.instances == 1
    assert dev.network.nat_gateways == 0 and prod.network.nat_gateways == prod.network.az_count
    assert dev.compute.desired_count < staging.compute.desired_count < prod.compute.desired_count
    assert dev.logs.retention_days == 7 < prod.logs.retention_days
    assert prod.protected and prod.data.aurora.deletion_protection and not dev.protected


def _repeated_defaults(node: dict, base: dict, path: tuple[str, ...] = ()) -> list[str]:
    repeated = []
    for key, value in node.items():
        if isinstance(value, dict):
            repeated += _repeated_defaults(value, base[key], (*path, key))
        elif path not in {("state",), ("aws",)} and value == base[key]:  # those two are required
            repeated.append(".".join((*path, key)))
    return repeated


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_environment_files_state_only_what_differs_from_the_defaults(name):
    # terragrunt's rule: a key that repeats the default in code is noise that drifts.
    import yaml

    from shared.config import EnvironmentConfig

    data = yaml.safe_load((ROOT / "environments" / f"{name}.yaml").read_text())
    defaults = EnvironmentConfig.model_validate(
        {"name": "x", "environment_suffix": "x", "state": data["state"], "aws": data["aws"]}
    ).model_dump()
    assert _repeated_defaults(data, defaults) == []


def test_suffix_override_renames_without_touching_sizing():
    env = load_environment("dev", suffix="pr-42")
    assert env.suffix == "pr-42" and env.name == "dev"
    assert env.data.kinesis.shard_count == load_environment("dev").data.kinesis.shard_count


def test_unknown_environment_lists_the_existing_ones():
    with pytest.raises(ConfigError) as exc:
        load_environment("qa")
    assert "unknown environment 'qa'" in exc.value.problems[0]
    assert "dev, staging, prod" in exc.value.problems[0]


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    found = problems(tmp_path, MINIMAL + "network:\n  cidr: [10.0.0.0/16\n")
    assert len(found) == 1
    assert "dev.yaml:7" in found[0] and "YAML syntax error" in found[0]


def test_a_key_given_twice_is_an_error_not_a_silent_override(tmp_path):
    found = problems(tmp_path, MINIMAL + "compute:\n  cpu: 512\n  cpu: 256\n")
    assert found == [f"{tmp_path / 'dev.yaml'}:7: compute.cpu: given twice (the first would be silently ignored)"]


def test_unknown_key_is_a_typo_with_its_path_and_line(tmp_path):
    found = problems(tmp_path, MINIMAL + "data:\n  kinesis:\n    shard_cont: 2\n")
    assert found == [
        f"{tmp_path / 'dev.yaml'}:7: data.kinesis.shard_cont: unknown key; did you mean shard_count? "
        f"(data.kinesis takes: {', '.join(sorted(KinesisConfig.model_fields))})"
    ]


def test_an_unknown_key_far_from_any_lists_what_its_section_takes(tmp_path):
    (found,) = problems(tmp_path, MINIMAL + "compute:\n  zzz: 1\n")
    assert found.endswith(
        "compute.zzz: unknown key (compute takes: " + ", ".join(sorted(ComputeConfig.model_fields)) + ")"
    )
    assert "make config" not in found  # which fails with the same error


def test_wrong_type_is_rejected_not_coerced(tmp_path):
    found = problems(tmp_path, MINIMAL + "compute:\n  desired_count: '2'\n")
    assert len(found) == 1 and "compute.desired_count" in found[0] and ":6:" in found[0]


def test_every_problem_is_reported_at_once(tmp_path):
    found = problems(
        tmp_path,
        """\
        aws:
          region: eu-west-1
        state:
          bucket: tf-state-bucket
        network:
          cidr: 10.0.0.1/16
          az_count: 1
        data:
          aurora:
            min_acu: 4
            max_acu: 2
        compute:
          cpu: 256
          memory: 4096
          desired_count: 9
          max_count: 3
        logs:
          retention_days: 10
        """,
    )
    text = "\n".join(found)
    assert "network.cidr" in text and "not an IPv4 network" in text
    assert "network.az_count" in text
    assert "data.aurora.min_acu: 4.0 is above max_acu (2.0)" in text
    assert "compute.memory: 4096 MiB does not fit cpu 256" in text
    assert "compute.desired_count: 9 is outside min_count..max_count (1..3)" in text
    assert "logs.retention_days" in text
    assert "compute.max_count: 3 tasks for 1 shard(s)" in text
    assert len(found) == 7
    # each names the file and the line of its key
    assert all(p.startswith(f"{tmp_path / 'dev.yaml'}:") for p in found)
    assert any(":10: data.aurora.min_acu" in p for p in found)


def test_subnets_that_do_not_fit_the_vpc(tmp_path):
    found = problems(tmp_path, MINIMAL + "network:\n  cidr: 10.0.0.0/22\n  az_count: 3\n  subnet_prefix_length: 24\n")
    assert any("network.subnet_prefix_length: 6 subnets of /24" in p for p in found)


def test_nat_gateways_must_be_none_one_or_one_per_az(tmp_path):
    found = problems(tmp_path, MINIMAL + "network:\n  az_count: 3\n  nat_gateways: 2\n")
    assert any("network.nat_gateways: must be 0, 1 or az_count (3), got 2" in p for p in found)


def test_prod_must_be_protected_with_deletion_protection(tmp_path):
    found = problems(tmp_path, MINIMAL + "protected: false\n", name="prod")
    assert any("protected: prod must be protected" in p for p in found)
    found = problems(tmp_path, MINIMAL + "protected: true\ndata:\n  aurora:\n    instances: 2\n", name="prod")
    text = "\n".join(found)
    assert "data.aurora.deletion_protection: must be true" in text
    assert "data.aurora.final_snapshot: must be true" in text
    assert "data.secret_recovery_window_days: must be 7-30" in text


def test_a_typo_elsewhere_does_not_hide_an_unprotected_prod_database(tmp_path):
    found = problems(
        tmp_path, MINIMAL + "protected: true\ncompute:\n  cpux: 1\ndata:\n  aurora:\n    instances: 2\n", name="prod"
    )
    text = "\n".join(found)
    assert "compute.cpux: unknown key" in text
    assert "data.aurora.deletion_protection: must be true in a protected environment" in text
    assert "data.secret_recovery_window_days: must be 7-30" in text
    assert "monitoring.alarm_emails: a protected environment must alert someone" in text
    assert "monitoring.paging_endpoint: a protected environment must page someone" in text
    assert "data.backup.lock_min_retention_days: a protected environment locks its backup vaults" in text
    assert len(found) == 7


def test_bad_suffix_override(tmp_path):
    write(tmp_path, "dev", MINIMAL)
    with pytest.raises(ConfigError) as exc:
        load_environment("dev", suffix="PR_42", directory=tmp_path)
    assert "SUFFIX='PR_42'" in exc.value.problems[0]


def test_name_key_is_refused(tmp_path):
    found = problems(tmp_path, MINIMAL + "name: other\n")
    assert any("name: is set by the file name" in p for p in found)


def test_all_environments_are_validated_together(tmp_path):
    write(tmp_path, "dev", MINIMAL + "compute:\n  cpu: 300\n")
    write(tmp_path, "staging", MINIMAL + "logs:\n  retention_days: 8\n")
    with pytest.raises(ConfigError) as exc:
        load_environments(directory=tmp_path)
    assert len(exc.value.problems) == 2
    assert "dev.yaml" in exc.value.problems[0] and "staging.yaml" in exc.value.problems[1]


def test_every_config_field_has_a_description():
    from pydantic import BaseModel

    from shared.config import EnvironmentConfig

    def walk(model: type[BaseModel], path: str):
        for name, field in model.model_fields.items():
            assert field.description, f"{path}{name} has no description"
            ann = field.annotation
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                walk(ann, f"{path}{name}.")

    walk(EnvironmentConfig, "")


# ---------------------------------------------------------------- emulator environments

EMULATED = MINIMAL + "  tls_only: false\n"


def test_an_emulator_environment_may_pin_the_provider_and_drop_tls(tmp_path):
    write(
        tmp_path,
        "local",
        EMULATED.replace("aws:\n", "aws:\n  endpoint: http://127.0.0.1:4566\n  provider_version: 5.100.0\n"),
    )
    env = load_environment("local", directory=tmp_path)
    assert env.emulated and env.aws.provider_version == "5.100.0" and not env.state.tls_only


def test_a_real_environment_may_not_use_emulator_settings(tmp_path):
    found = problems(tmp_path, EMULATED.replace("aws:\n", "aws:\n  provider_version: 5.100.0\n"))
    where = tmp_path / "dev.yaml"
    assert found == [
        f"{where}:2: aws.provider_version: only an emulator environment (aws.endpoint set) may pin it",
        f"{where}:6: state.tls_only: may be false only for an emulator environment (aws.endpoint set)",
    ]


def test_a_protected_environment_cannot_live_in_an_emulator(tmp_path):
    body = MINIMAL.replace("aws:\n", "aws:\n  endpoint: http://127.0.0.1:4566\n") + "protected: true\n"
    found = problems(tmp_path, body, name="qa")
    assert any("aws.endpoint: a protected environment cannot live in an emulator" in p for p in found)


@pytest.mark.parametrize("endpoint", ["127.0.0.1:4566", "ftp://127.0.0.1", "http://127.0.0.1:4566/path"])
def test_an_endpoint_is_a_base_url(tmp_path, endpoint):
    (found,) = problems(tmp_path, MINIMAL.replace("aws:\n", f"aws:\n  endpoint: {endpoint}\n"))
    assert "aws.endpoint" in found and ":2:" in found


# ---------------------------------------------------------------- hostile input: one message, every problem


def test_nested_aliases_are_refused_at_once_without_expanding_them(tmp_path):
    lines = [MINIMAL.rstrip(), "x0: &x0 [a, b, c, d, e, f, g, h, i]"]
    lines += [f"x{i}: &x{i} [" + ", ".join([f"*x{i - 1}"] * 9) + "]" for i in range(1, 9)]  # 9**9 values
    (found,) = problems(tmp_path, "\n".join(lines) + "\n")
    assert "its aliases (*name) expand to more than 10,000 values" in found


def test_a_few_aliases_are_fine(tmp_path):
    write(tmp_path, "dev", MINIMAL + "monitoring:\n  alarm_emails: &ops [ops@example.com]\n")
    assert load_environment("dev", directory=tmp_path).monitoring.alarm_emails == ("ops@example.com",)


def test_a_duplicate_key_hides_no_other_problem(tmp_path):
    body = MINIMAL + "network:\n  cidr: 10.0.0.0/16\n  cidr: 10.1.0.0/16\ncompute:\n  cpu: 300\n  bogus: 1\n"
    found = problems(tmp_path, body)
    assert len(found) == 3
    assert any(":7: network.cidr: given twice" in p for p in found)
    assert any(":10: compute.bogus: unknown key" in p for p in found)
    assert any(":9: compute.cpu: must be one of" in p and "got 300" in p for p in found)


def test_a_file_that_is_not_utf8_is_named_with_its_line(tmp_path):
    (tmp_path / "dev.yaml").write_bytes(MINIMAL.encode() + b"project: vid\xe9o\n")
    with pytest.raises(ConfigError) as exc:
        load_environment("dev", directory=tmp_path)
    assert exc.value.problems == [f"{tmp_path / 'dev.yaml'}:5: not UTF-8 text (byte 0xe9); save the file as UTF-8"]


def test_a_key_yaml_reads_as_a_boolean_is_explained(tmp_path):
    (found,) = problems(tmp_path, MINIMAL + "on: 1\n")
    assert found.endswith(
        ":5: on: read as a boolean, not as a name: YAML reads on/off/yes/no/true/false "
        "as booleans; quote the key if you meant it"
    )


def test_not_a_number_is_said_in_words(tmp_path):
    (found,) = problems(tmp_path, MINIMAL + "logs:\n  retention_days: .nan\n")
    assert found.endswith(":6: logs.retention_days: must be a number, not .nan")


def test_patterns_are_explained_not_shown(tmp_path):
    (found,) = problems(tmp_path, MINIMAL.replace("eu-west-1", "Europe"))
    assert found.endswith("aws.region: must be an AWS region name such as us-east-1 (got 'Europe')")


def test_two_environments_with_one_suffix_name_both_files(tmp_path):
    write(tmp_path, "dev", MINIMAL)
    write(tmp_path, "qa", MINIMAL + "environment_suffix: dev\n")
    with pytest.raises(ConfigError) as exc:
        load_environments(directory=tmp_path)
    (found,) = exc.value.problems  # found from both sides, said once
    assert found.startswith(f"{tmp_path / 'dev.yaml'} and {tmp_path / 'qa.yaml'} both use the suffix 'dev'")


@pytest.mark.parametrize(
    ("suffix", "words"),
    [
        ("prod", "is the name or suffix of the environment in environments/prod.yaml"),
        ("staging", "is the name or suffix of the environment in environments/staging.yaml"),
        ("pr--1", "must be 1-20 lowercase letters, digits and single hyphens"),
        ("PR-1", "must be 1-20 lowercase letters, digits and single hyphens"),
        ("pr-1-", "must be 1-20 lowercase letters, digits and single hyphens"),
    ],
)
def test_a_bad_suffix_is_one_problem_naming_suffix(suffix, words):
    with pytest.raises(ConfigError) as exc:
        load_environment("dev", suffix=suffix)
    assert exc.value.problems == [f"SUFFIX={suffix!r}: {words}" + exc.value.problems[0].split(words, 1)[1]]


def test_a_project_with_a_double_hyphen_is_refused(tmp_path):
    (found,) = problems(tmp_path, MINIMAL + "project: stream--flix\n")
    assert "project: may not hold '--' or end with '-'" in found


@pytest.mark.parametrize("name", ["./dev", "/etc/passwd", "dev staging", "*", "dev;true", "../environments/dev"])
def test_an_environment_is_a_name_not_a_path(name):
    with pytest.raises(ConfigError) as exc:
        load_environment(name)
    (found,) = exc.value.problems
    assert found.startswith(f"ENV={name!r}: an environment is a name from environments/ (dev, staging, prod")


def test_a_file_whose_name_is_not_a_name_says_rename_it(tmp_path):
    write(tmp_path, "QA", MINIMAL)
    (found,) = problems(tmp_path, MINIMAL, name="QA")
    assert "an environment is named by its file, and 'QA' is not a name" in found and "rename the file" in found


def test_a_yml_file_is_pointed_at(tmp_path):
    (tmp_path / "test.yml").write_text(MINIMAL)
    with pytest.raises(ConfigError) as exc:
        load_environment("test", directory=tmp_path)
    assert f"{tmp_path / 'test.yml'} exists: rename it to test.yaml" in exc.value.problems[0]


def test_a_huge_file_is_refused_before_parsing(tmp_path):
    (tmp_path / "dev.yaml").write_text(MINIMAL + "# " + "x" * 300_000 + "\n")
    with pytest.raises(ConfigError, match="more than 262,144 is refused"):
        load_environment("dev", directory=tmp_path)


def test_control_characters_in_a_key_are_escaped_in_the_message(tmp_path):
    write(tmp_path, "dev", MINIMAL + '"\\e[2Jgotcha": 1\n')
    with pytest.raises(ConfigError) as exc:
        load_environment("dev", directory=tmp_path)
    rendered = exc.value.render()
    assert "\x1b" not in rendered and "\\x1b[2Jgotcha: unknown key" in rendered


# ---------------------------------------------------------------- alarms reach someone; copies are destroyable


PROTECTED = (
    MINIMAL + "protected: true\nnetwork:\n  az_count: 2\ndata:\n  secret_recovery_window_days: 7\n"
    "  aurora:\n    instances: 2\n    deletion_protection: true\n    final_snapshot: true\n"
    "  backup:\n    lock_min_retention_days: 7\n"
)


def test_a_protected_environment_must_alert_and_page_someone(tmp_path):
    alert, page = problems(tmp_path, PROTECTED, name="qa")
    assert "monitoring.alarm_emails: a protected environment must alert someone" in alert
    assert "monitoring.paging_endpoint: a protected environment must page someone" in page
    write(
        tmp_path,
        "qa",
        PROTECTED + "monitoring:\n  alarm_https_endpoints: [https://pager.example/hook]\n"
        "  paging_endpoint: https://pager.example/page\n",
    )
    monitoring = load_environment("qa", directory=tmp_path).monitoring
    assert monitoring.alarm_https_endpoints and monitoring.paging_endpoint == "https://pager.example/page"
    assert problems(tmp_path, MINIMAL + "monitoring:\n  paging_endpoint: http://pager.example\n")


def test_an_alarm_endpoint_is_https(tmp_path):
    (found,) = problems(tmp_path, MINIMAL + "monitoring:\n  alarm_https_endpoints: [http://pager.example]\n")
    assert "must be an https:// URL" in found


def test_a_suffix_copy_of_prod_is_destroyable_and_cheaper():
    prod, copy = load_environment("prod"), load_environment("prod", suffix="pr-7")
    assert prod.protected and prod.data.aurora.deletion_protection and prod.network.nat_gateways == 3
    assert not copy.protected and not copy.data.aurora.deletion_protection and not copy.data.aurora.final_snapshot
    assert copy.data.secret_recovery_window_days == 0 and copy.network.nat_gateways == 1
    assert copy.compute == prod.compute and copy.data.kinesis == prod.data.kinesis  # same sizing
    # A copy whose workers are missing is nobody's outage: it never pages prod's on-call.
    assert prod.monitoring.paging_endpoint and copy.monitoring.paging_endpoint is None


def test_only_suffix_on_the_command_line_makes_a_throwaway(tmp_path):
    write(tmp_path, "staging", MINIMAL + "environment_suffix: stg\n")
    assert not load_environment("staging", directory=tmp_path).throwaway  # a suffix of its own is not a copy
    # SUFFIX= naming the environment's own suffix is the environment itself: same state, every protection.
    same = load_environment("staging", directory=tmp_path, suffix="stg")
    assert same.suffix == "stg" and not same.throwaway
    copy = load_environment("staging", directory=tmp_path, suffix="pr-1")
    assert copy.suffix == "pr-1" and copy.throwaway


def test_a_copy_may_not_take_the_name_of_an_environment_with_a_suffix_of_its_own(tmp_path):
    write(tmp_path, "prod", MINIMAL + "environment_suffix: prd\nprotected: true\n")
    (found,) = problems(tmp_path, MINIMAL, name="dev", suffix="prod")
    assert found.startswith("SUFFIX='prod': is the name or suffix of the environment in"), found
    found = problems(tmp_path, MINIMAL + "environment_suffix: prd\nprotected: true\n", name="prod", suffix="prod")
    assert any(p.startswith("SUFFIX='prod': is the name or suffix of the environment in") for p in found), found


def test_a_file_cannot_say_it_is_a_throwaway(tmp_path):
    (found,) = problems(tmp_path, MINIMAL + "throwaway: true\n")
    assert found.endswith(":5: throwaway: only a copy made with SUFFIX= on the command line is a throwaway; remove it")


def test_prod_with_a_suffix_of_its_own_must_still_be_protected(tmp_path):
    (found,) = problems(tmp_path, MINIMAL + "environment_suffix: prd\nprotected: false\n", name="prod")
    assert "protected: prod must be protected, whatever its environment_suffix" in found


def test_no_more_tasks_than_shards_on_a_provisioned_stream(tmp_path):
    (found,) = problems(tmp_path, MINIMAL + "data:\n  kinesis:\n    shard_count: 2\ncompute:\n  max_count: 3\n")
    assert found.endswith(
        ":9: compute.max_count: 3 tasks for 2 shard(s): each shard is read by one worker at a "
        "time, so the others would idle; at most data.kinesis.shard_count"
    )
    write(tmp_path, "dev", MINIMAL + "data:\n  kinesis:\n    mode: on_demand\ncompute:\n  max_count: 3\n")
    assert load_environment("dev", directory=tmp_path).compute.max_count == 3  # on demand: shards are AWS's


@pytest.mark.parametrize("size", [20, 201])
def test_ephemeral_storage_is_what_fargate_offers(tmp_path, size):
    (found,) = problems(tmp_path, MINIMAL + f"compute:\n  ephemeral_storage_gib: {size}\n")
    assert "compute.ephemeral_storage_gib" in found


def test_dev_defaults_are_cheap_where_nobody_reads(tmp_path):
    write(tmp_path, "dev", MINIMAL)
    env = load_environment("dev", directory=tmp_path)
    assert env.network.flow_logs_traffic == "REJECT"
    assert not env.data.aurora.performance_insights and not env.data.aurora.enhanced_monitoring
    assert env.data.kinesis.consumer == "polling"
    assert env.data.aurora.seconds_until_auto_pause is None


def test_a_cluster_may_pause_at_0_acu_with_an_idle_time(tmp_path):
    write(tmp_path, "dev", MINIMAL + "data:\n  aurora:\n    min_acu: 0\n    seconds_until_auto_pause: 3600\n")
    aurora = load_environment("dev", directory=tmp_path).data.aurora
    assert (aurora.min_acu, aurora.seconds_until_auto_pause) == (0, 3600)


def test_an_idle_time_needs_a_cluster_that_may_pause(tmp_path):
    (found,) = problems(tmp_path, MINIMAL + "data:\n  aurora:\n    seconds_until_auto_pause: 600\n")
    assert found.endswith(
        ":7: data.aurora.seconds_until_auto_pause: only a cluster that may pause has it: set "
        "min_acu to 0 (it is 0.5) or remove this key"
    )


def test_rds_keeps_the_password_by_default_rotating_it_weekly(tmp_path):
    write(tmp_path, "dev", MINIMAL)
    aurora = load_environment("dev", directory=tmp_path).data.aurora
    assert (aurora.password_generator, aurora.rds_managed, aurora.secret_rotation_days) == ("rds", True, 7)


@pytest.mark.parametrize("generator", ["random", "secrets_manager"])
def test_a_generated_password_is_still_an_option_with_its_version(tmp_path, generator):
    body = MINIMAL + f"data:\n  aurora:\n    password_generator: {generator}\n    password_version: 3\n"
    write(tmp_path, "dev", body)
    aurora = load_environment("dev", directory=tmp_path).data.aurora
    assert (aurora.rds_managed, aurora.password_version) == (False, 3)


def test_a_password_version_does_nothing_to_the_password_rds_keeps(tmp_path):
    (found,) = problems(tmp_path, MINIMAL + "data:\n  aurora:\n    password_version: 2\n")
    assert ":7: data.aurora.password_version: applies only to a password the stack generates" in found
    assert "remove this key" in found


def test_a_rotation_schedule_does_nothing_to_a_generated_password(tmp_path):
    body = MINIMAL + "data:\n  aurora:\n    password_generator: random\n    secret_rotation_days: 30\n"
    (found,) = problems(tmp_path, body)
    assert "data.aurora.secret_rotation_days: applies only to the RDS-managed password" in found


@pytest.mark.parametrize("days", [0, 1001])
def test_the_rotation_schedule_is_what_secrets_manager_accepts(tmp_path, days):
    (found,) = problems(tmp_path, MINIMAL + f"data:\n  aurora:\n    secret_rotation_days: {days}\n")
    assert "data.aurora.secret_rotation_days" in found


@pytest.mark.parametrize("seconds", [299, 86_401])
def test_the_idle_time_is_what_aurora_accepts(tmp_path, seconds):
    body = MINIMAL + f"data:\n  aurora:\n    min_acu: 0\n    seconds_until_auto_pause: {seconds}\n"
    (found,) = problems(tmp_path, body)
    assert "data.aurora.seconds_until_auto_pause" in found


@pytest.mark.parametrize(
    ("version", "ok"),
    [
        ("16.2", False),
        ("16.3", True),
        ("15.6", False),
        ("15.7", True),
        ("13.14", False),
        ("12.20", False),
        ("17.4", True),
    ],
)
def test_pausing_at_0_acu_needs_an_engine_that_can(tmp_path, version, ok):
    body = MINIMAL + f"data:\n  aurora:\n    min_acu: 0\n    engine_version: '{version}'\n"
    write(tmp_path, "dev", body)
    if ok:
        assert load_environment("dev", directory=tmp_path).data.aurora.min_acu == 0
        return
    (found,) = problems(tmp_path, body)
    assert (
        f"data.aurora.min_acu: 0 ACU (auto-pause) needs Aurora PostgreSQL 13.15, 14.12, 15.7, 16.3 or later; "
        f"engine_version is {version}" in found
    )


@pytest.mark.parametrize(("key", "value"), [("data.kinesis.consumer", "fanout"), ("network.flow_logs_traffic", "all")])
def test_modes_are_spelled_as_documented(tmp_path, key, value):
    section, *rest = key.split(".")
    body = MINIMAL + f"{section}:\n" + "".join(f"{'  ' * (i + 1)}{k}:\n" for i, k in enumerate(rest[:-1]))
    body += f"{'  ' * len(rest)}{rest[-1]}: {value}\n"
    (found,) = problems(tmp_path, body)
    assert key in found


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("Local", "no environment Local; did you mean local? (environments: dev, staging, prod, local)"),
        ("PROD", "no environment PROD; did you mean prod?"),
        (
            "stagin",
            "unknown environment 'stagin': no environments/stagin.yaml; environments: dev, staging, prod, "
            "local; did you mean staging?",
        ),
    ],
)
def test_a_name_that_is_nearly_an_environment_says_which_was_meant(name, said):
    with pytest.raises(ConfigError) as exc:
        load_environment(name)
    assert exc.value.problems == [said] or said in exc.value.problems[0]
    assert exc.value.render().startswith("error: unknown environment (1 problem(s)):")


def test_an_unknown_name_far_from_any_environment_suggests_nothing():
    with pytest.raises(ConfigError) as exc:
        load_environment("qa")
    assert "did you mean" not in exc.value.problems[0]


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("[]", "must start with CMD or CMD-SHELL, got []"),
        ("[/bin/healthy]", "must start with CMD or CMD-SHELL, got ['/bin/healthy']"),
        ("[CMD]", "CMD needs a command after it"),
        ("[CMD-SHELL, '  ']", "CMD-SHELL needs a command after it"),
        ("[CMD-SHELL, 'test -f /a', 'test -f /b']", "CMD-SHELL takes one command line, got 2"),
    ],
)
def test_a_health_check_is_in_ecss_form(tmp_path, command, message):
    found = problems(tmp_path, MINIMAL + f"compute:\n  health_check_command: {command}\n")
    assert [p for p in found if "compute.health_check_command" in p and message in p], found


def test_a_health_check_in_ecss_form_is_taken(tmp_path):
    write(tmp_path, "dev", MINIMAL + "compute:\n  health_check_command: [CMD, /usr/bin/worker, health]\n")
    assert load_environment("dev", directory=tmp_path).compute.health_check_command == (
        "CMD",
        "/usr/bin/worker",
        "health",
    )


@pytest.mark.parametrize(("key", "value"), [("stop_timeout_seconds", 121), ("health_check_start_period_seconds", 301)])
def test_worker_stop_and_start_times_stay_within_what_fargate_allows(tmp_path, key, value):
    found = problems(tmp_path, MINIMAL + f"compute:\n  {key}: {value}\n")
    assert any(f"compute.{key}" in p for p in found), found


def test_the_reason_for_an_internet_path_is_what_ec2_takes_in_a_rule_description(tmp_path):
    found = problems(tmp_path, MINIMAL + 'network:\n  internet_https: "the vendor\'s API"\n')
    assert any("network.internet_https" in p and "without quotes" in p for p in found), found


def test_closed_egress_with_an_image_no_endpoint_reaches_is_refused(tmp_path):
    found = problems(tmp_path, MINIMAL + "network:\n  interface_endpoints: true\n  internet_https: null\n")
    assert any("network.internet_https: is null, but compute.image (public.ecr.aws/" in p for p in found), found


@pytest.mark.parametrize(
    "section",
    [
        "network:\n  internet_https: x ${path.cwd}\n",
        "monitoring:\n  paging_endpoint: https://pager.example/${var.key}\n",
        "monitoring:\n  alarm_https_endpoints: ['https://hooks.example/%{if true}x%{endif}']\n",
        "monitoring:\n  alarm_emails: ['oncall+${var.x}@example.com']\n",
    ],
)
def test_text_the_engine_would_read_as_its_own_template_is_refused(tmp_path, section):
    found = problems(tmp_path, MINIMAL + section)
    assert len(found) == 1 and any(w in found[0] for w in ("$ { }", "braces percent-encoded", "without braces")), found


def test_the_workers_user_is_never_the_master_nor_postgres_or_rds_own(tmp_path):
    body = MINIMAL + "data:\n  aurora:\n    app_user: streamflix_admin\n    app_schema: public\n"
    found = problems(tmp_path, body)
    assert any(p.endswith("data.aurora.app_user: must differ from master_username: the workers never connect "
                          "as the master") for p in found), found  # fmt: skip
    assert any("data.aurora.app_schema: 'public' is PostgreSQL's own" in p for p in found), found
    (reserved,) = problems(tmp_path, MINIMAL + "data:\n  aurora:\n    app_user: rds_worker\n")
    assert "data.aurora.app_user: 'rds_worker': names starting pg_ or rds belong to PostgreSQL and RDS" in reserved
    (public,) = problems(tmp_path, MINIMAL + "data:\n  aurora:\n    app_user: public\n")
    assert "data.aurora.app_user: 'public' is a role name PostgreSQL reserves for itself" in public
    (quoted,) = problems(tmp_path, MINIMAL + 'data:\n  aurora:\n    app_schema: "a;drop"\n')
    assert "data.aurora.app_schema" in quoted


# ---------------------------------------------------------------- backups


def test_a_vault_lock_longer_than_a_retention_would_refuse_every_recovery_point(tmp_path):
    found = problems(
        tmp_path, MINIMAL + "data:\n  backup:\n    copy_retention_days: 30\n    lock_min_retention_days: 14\n"
    )
    (problem,) = found
    assert "data.backup.retention_days: 7 is below lock_min_retention_days (14)" in problem


def test_a_lock_grace_needs_a_lock(tmp_path):
    (problem,) = problems(tmp_path, MINIMAL + "data:\n  backup:\n    lock_grace_days: 3\n")
    assert "data.backup.lock_grace_days: applies to a vault lock: set lock_min_retention_days too" in problem


def test_a_backup_schedule_is_a_cron_expression(tmp_path):
    (problem,) = problems(tmp_path, MINIMAL + "data:\n  backup:\n    schedule: daily\n")
    assert "data.backup.schedule" in problem and "cron(0 5 ? * * *)" in problem
