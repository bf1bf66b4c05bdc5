"""The daily commands through make, as engineers type them: the engine stand-in on PATH, moto_server as AWS."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.support.served_aws import served_aws_client, served_aws_env


@pytest.fixture
def make(repo_copy, engine, fresh_aws):
    moto_server = fresh_aws

    def run(*args: str, **variables: str | None) -> subprocess.CompletedProcess:
        env = served_aws_env(moto_server)  # make as typed, not a sub-make of `make test`
        for key, value in variables.items():  # the shell's own variables; None unsets one
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return subprocess.run(
            ["make", *args],
            cwd=repo_copy,
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            check=False,
        )

    return run


def test_a_day_with_dev(make, engine, repo_copy, moto_server):
    boot = make("bootstrap", "ENV=dev")
    assert boot.returncode == 0, boot.stderr
    assert re.search(r"^  bucket +created$", boot.stdout, re.MULTILINE), boot.stdout
    # moto_server speaks plain HTTP, so the bucket's TLS-only policy refuses writes, as it should.
    s3 = served_aws_client(moto_server, "s3")
    with pytest.raises(ClientError, match="Forbidden|AccessDenied"):
        s3.put_object(Bucket="streamflix-tfstate-dev", Key="probe", Body=b"x")
    s3.delete_bucket_policy(Bucket="streamflix-tfstate-dev")  # let the rest of the day run over HTTP

    # Each step once through make (the refusals, targeted runs and every other path are the tests of
    # shared/ops and the tests below): make's wiring, the exit codes it passes on, what lands on disk.
    full = make("deploy", "ENV=dev")
    assert full.returncode == 0, full.stdout + full.stderr
    assert "recorded release" in full.stdout, full.stdout[-2000:] + full.stderr
    assert engine.commands("apply") == ["network-dev", "data-dev", "compute-dev", "monitoring-dev"]
    outputs = json.loads((repo_copy / "outputs/dev.json").read_text())
    assert outputs["compute"]["ecs_cluster_name"] == "compute-dev:ecs_cluster_name"

    engine.set("DRIFT", "compute-dev")
    drift = make("drift", "ENV=dev")
    assert "drift in compute-dev" in drift.stdout and "Error 1" in drift.stderr  # an operation result, not usage

    releases = make("releases", "ENV=dev")
    assert releases.returncode == 0
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo_copy, capture_output=True, text=True).stdout
    assert head[:12] in releases.stdout

    engine.clear()
    gone = make("destroy", "ENV=dev", "CONFIRM=dev")
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert engine.commands("apply") == ["monitoring-dev", "compute-dev", "data-dev", "network-dev"]


def test_check_scans_the_environments_stacks_and_fails_on_a_finding(make, tmp_path):
    # A checkov that fails one check on the data stack (the real one scans every environment in
    # tests/shared/policy/test_scan.py): make check hands it the environment's four stacks, prints the
    # finding and fails.
    fake = tmp_path / "checkov"
    fake.write_text(f"""#!{sys.executable}
import json, sys
files = [sys.argv[i + 1] for i, arg in enumerate(sys.argv) if arg == "--file"]
open({str(tmp_path / "scanned")!r}, "w").write("\\n".join(files))
def report(path):
    check = {{"check_id": "CKV_AWS_43", "check_name": "Ensure Kinesis Stream is securely encrypted",
              "file_abs_path": path, "resource": "aws_kinesis_stream.stream"}}
    failed = "/data-dev/" in path
    return {{"results": {{"passed_checks": [] if failed else [check], "failed_checks": [check] if failed else []}}}}
print(json.dumps([report(f) for f in files]))
""")
    fake.chmod(0o755)
    proc = make("check", "ENV=dev", STREAMFLIX_CHECKOV=str(fake))
    assert proc.returncode == 2 and "Error 1" in proc.stderr, proc.stdout + proc.stderr
    assert "checkov dev (suffix dev): 3 passed, 1 failed" in proc.stdout
    assert "CKV_AWS_43  data-dev  aws_kinesis_stream.stream: Ensure Kinesis Stream is securely encrypted" in proc.stdout
    scanned = (tmp_path / "scanned").read_text().splitlines()
    assert [Path(f).parent.name for f in scanned] == ["network-dev", "data-dev", "compute-dev", "monitoring-dev"]


def test_prod_deploy_through_make_applies_nothing_without_confirm(make, engine):
    # Here it stops at prod's image (no registry to pin its digest from); tests/shared/ops/runner/test_review.py
    # shows the plans and then the CONFIRM to give.
    refused = make("deploy", "ENV=prod")
    assert refused.returncode == 2 and "nothing was changed" in refused.stderr, refused.stderr
    assert engine.commands("apply") == []


def test_allow_replace_reaches_deploy_and_promote_as_one_argument(make, engine):
    for target in (("deploy", "ENV=dev"), ("promote", "FROM=dev", "TO=staging")):
        proc = make(*target, "ALLOW_REPLACE=data:aws_sqs_queue.dlq;touch pwned")
        assert proc.returncode == 2 and "Error 2" in proc.stderr, proc.stderr
        assert (
            "ALLOW_REPLACE=data:aws_sqs_queue.dlq;touch pwned: 'data:aws_sqs_queue.dlq;touch pwned' is not"
            in proc.stderr
        )
    assert engine.calls() == []


def test_prod_is_never_destroyed_through_make(make, engine):
    proc = make("destroy", "ENV=prod", "CONFIRM=prod")
    assert proc.returncode == 2 and "prod is protected: the tool never destroys it" in proc.stderr
    assert engine.calls() == []


def test_promote_with_a_bad_pair_through_make(make, engine):
    bad = make("promote", "FROM=dev", "TO=prod")
    assert bad.returncode == 2 and "one step forward" in bad.stderr
    assert engine.calls() == []


# ---------------------------------------------------------------- hostile make variables


@pytest.mark.parametrize("value", ["dev;touch pwned;true", "$(shell touch pwned)", "`touch pwned`", "*", "dev staging"])
def test_a_variable_reaches_the_command_as_one_argument_and_never_runs(make, repo_copy, value):
    proc = make("config", f"ENV={value}")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"ENV={value!r}: an environment is a name from environments/" in proc.stderr
    assert not (repo_copy / "pwned").exists()


def test_push_state_takes_the_file_as_one_argument(make, engine, repo_copy):
    proc = make("push-state", "ENV=dev", "STACK=data", "FILE=x; touch pwned")
    assert proc.returncode == 2 and "FILE=x; touch pwned: there is no such file; nothing was pushed" in proc.stderr
    assert not (repo_copy / "pwned").exists() and engine.calls() == []


def test_a_missing_env_says_env_and_lists_the_environments(make, engine):
    proc = make("deploy")
    assert proc.returncode == 2
    assert "ENV= is required: make deploy ENV=<env> (--env), one of: dev, staging, prod, local" in proc.stderr
    assert engine.calls() == []


def test_an_env_from_the_shell_says_where_it_came_from(make):
    proc = make("config", ENV="/home/someone/.shrc")  # what sh's ENV usually holds
    assert proc.returncode == 2
    assert "ENV='/home/someone/.shrc': an environment is a name" in proc.stderr
    assert "came from your shell's environment, not from the make command line" in proc.stderr


def test_variables_go_only_to_the_commands_that_take_them(make):
    # config takes ENV and SUFFIX only: given STACK and CONFIRM too, it must not see them (its parser
    # would refuse an argument it does not know).
    proc = make("config", "ENV=dev", "SUFFIX=dev", "STACK=compute", "CONFIRM=dev", "ALLOW_REPLACE=data:x")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["environment_suffix"] == "dev"


def test_a_confirm_naming_another_environment_is_refused_everywhere(make, engine):
    proc = make("deploy", "ENV=dev", "CONFIRM=prod")
    assert (
        proc.returncode == 2 and "CONFIRM=prod does not name the environment this command works on (dev)" in proc.stderr
    )
    assert engine.calls() == []


def test_a_targeted_destroy_names_what_it_would_destroy(make, engine):
    proc = make("destroy", "ENV=dev", "STACK=monitoring")
    assert proc.returncode == 2 and "refusing to destroy monitoring-dev without confirmation" in proc.stderr
    assert engine.commands("apply") == []


def test_without_node_synthesis_stops_before_cdktf_loads(make, repo_copy, tmp_path):
    bare = tmp_path / "bin"  # a PATH with make and nothing else: no node
    bare.mkdir()
    (bare / "make").symlink_to(shutil.which("make"))
    proc = make("synth", "ENV=dev", PATH=str(bare))
    assert proc.returncode == 2, proc.stderr
    assert "Node.js (20 or newer) is not on PATH" in proc.stderr and "Traceback" not in proc.stderr


# A machine with no AWS credentials anywhere (the emulator's own are given to emulated environments).
NO_CREDENTIALS = dict.fromkeys(("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL")) | {
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    "AWS_CONFIG_FILE": "/nonexistent",
}


def test_releases_without_credentials_exit_2_saying_so_once(make):
    proc = make("releases", "ENV=dev", **NO_CREDENTIALS)
    assert proc.returncode == 2 and "Error 2" in proc.stderr
    assert proc.stderr.count("no AWS credentials found") == 1


def test_releases_on_a_machine_with_only_the_emulator_shows_its_releases(make, repo_copy, moto_server):
    config = repo_copy / "environments" / "local.yaml"
    config.write_text(config.read_text().replace("http://127.0.0.1:4566", moto_server))
    served_aws_client(moto_server, "s3").create_bucket(Bucket="streamflix-tfstate-local")
    proc = make("releases", **NO_CREDENTIALS)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {line.split()[0]: line for line in proc.stdout.splitlines()[1:] if line.strip()}
    assert "(never deployed)" in rows["local"]
    for name in ("dev", "staging", "prod"):
        assert "(no AWS credentials here)" in rows[name], proc.stdout
    assert "dev, staging, prod: not read, as this machine has no AWS credentials" in proc.stdout


def test_releases_with_the_emulator_stopped_shows_it_and_named_says_how_to_start_it(make, repo_copy):
    from tests.support.ports import free_port

    config = repo_copy / "environments" / "local.yaml"  # a port nothing listens on, whatever this machine runs
    config.write_text(config.read_text().replace("http://127.0.0.1:4566", f"http://127.0.0.1:{free_port()}"))
    every = make("releases", **NO_CREDENTIALS)  # as plan and drift skip it: a row, not an error
    assert every.returncode == 0 and "(its emulator is not running)" in every.stdout, every.stdout + every.stderr
    proc = make("releases", "ENV=local", **NO_CREDENTIALS)
    assert proc.returncode == 2 and "Error 2" in proc.stderr
    assert "start it with `make emulator ENV=local`" in proc.stderr, proc.stderr


HOSTILE_FILES = {
    "aliases": (
        "x0: &x0 [a, b, c, d, e, f, g, h, i]\n"
        + "".join(f"x{i}: &x{i} [{', '.join([f'*x{i - 1}'] * 9)}]\n" for i in range(1, 9)),
        "expand to more than 10,000 values",
    ),
    "duplicate": (
        "network:\n  cidr: 10.0.0.0/16\n  cidr: 10.1.0.0/16\ncompute:\n  cpu: 300\n  bogus: 1\n",
        "compute.cpu: must be one of",
    ),
    "latin1": ("project: vid\xe9o\n", "not UTF-8 text (byte 0xe9)"),
    "boolean-key": ("on: push\n", "on: read as a boolean"),
    "nan": ("logs:\n  retention_days: .nan\n", "must be a number, not .nan"),
    "suffix": ("environment_suffix: pr--1\n", "may not hold '--'"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_FILES))
def test_a_hostile_environment_file_through_make(make, repo_copy, case):
    body, message = HOSTILE_FILES[case]
    head = "aws:\n  region: us-east-1\nstate:\n  bucket: streamflix-tfstate-dev\n"
    (repo_copy / "environments/dev.yaml").write_bytes((head + body).encode("latin-1"))
    before = {p: p.read_bytes() for p in (repo_copy / "cdktf.out").rglob("*") if p.is_file()}
    proc = make("synth", "ENV=dev")
    assert proc.returncode == 2 and "Error 2" in proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr
    after = {p: p.read_bytes() for p in (repo_copy / "cdktf.out").rglob("*") if p.is_file()}
    assert after == before  # nothing synthesized, nothing removed


def test_a_stack_named_twice_is_worked_on_once(make, engine):
    assert make("deploy", "ENV=dev", "STACK=network, network").returncode == 0
    assert engine.commands("apply") == ["network-dev"]


@pytest.mark.parametrize("value", ["nope", "$(shell touch pwned)", "cdktf cdktn"])
def test_an_unknown_toolchain_is_refused_before_anything_runs(make, repo_copy, engine, value):
    proc = make("deploy", "ENV=dev", f"TOOLCHAIN={value}")
    assert proc.returncode == 2 and f"TOOLCHAIN='{value}': one of cdktf cdktn" in proc.stderr
    assert not (repo_copy / "pwned").exists() and engine.calls() == []


# ---------------------------------------------------------------- consent only from the command line


def _ran(command: str, stack: str):
    return lambda proc, engine: proc.returncode == 0 and engine.commands(command) == [stack]


# Each case: make's arguments and the shell's variables that did something without a word before (a variable
# exported in the shell, or one make takes for a typed one: MAKEFLAGS, GNUMAKEFLAGS, `make -e`, became the
# command's --confirm, --force, --env, ...), what the refusal says; then the same words typed on make's
# command line (the shell's own variable left set, but for MAKEFLAGS) and what shows they counted.
FROM_THE_SHELL = {
    "CONFIRM": (
        ("destroy", "ENV=dev", "STACK=monitoring"),
        {"CONFIRM": "dev"},
        "CONFIRM=dev came from your shell's environment, not the make command line: consent counts only on the "
        "command line (make destroy ENV=dev STACK=monitoring CONFIRM=dev); unset CONFIRM; nothing was run",
        ("destroy", "ENV=dev", "STACK=monitoring", "CONFIRM=dev"),
        _ran("plan", "monitoring-dev"),
    ),
    "CONFIRM under make -e": (
        ("-e", "destroy", "ENV=dev", "STACK=monitoring"),
        {"CONFIRM": "dev"},
        "CONFIRM=dev came from your shell's environment",
        ("-e", "destroy", "ENV=dev", "STACK=monitoring", "CONFIRM=dev"),
        _ran("plan", "monitoring-dev"),
    ),
    "CONFIRM in MAKEFLAGS": (
        ("destroy", "ENV=dev", "STACK=monitoring"),
        {"MAKEFLAGS": "CONFIRM=dev"},
        "CONFIRM=dev came from MAKEFLAGS in your shell's environment (or a make that runs this one), not the make "
        "command line: consent counts only on the command line (make destroy ENV=dev STACK=monitoring "
        "CONFIRM=dev); take it out of MAKEFLAGS",
        ("destroy", "ENV=dev", "STACK=monitoring", "CONFIRM=dev"),
        _ran("plan", "monitoring-dev"),
    ),
    "CONFIRM in GNUMAKEFLAGS, its name escaped": (
        ("destroy", "ENV=dev", "STACK=monitoring"),
        {"GNUMAKEFLAGS": "-s CONF\\IRM\\ =dev"},
        "CONFIRM=dev came from MAKEFLAGS in your shell's environment",
        ("destroy", "ENV=dev", "STACK=monitoring", "CONFIRM=dev"),
        _ran("plan", "monitoring-dev"),
    ),
    "CONFIRM in MAKEFLAGS, its name made by make's expansion": (
        ("destroy", "ENV=dev", "STACK=monitoring"),
        {"MAKEFLAGS": "CONF$()IRM=dev"},
        "CONFIRM=dev came from MAKEFLAGS in your shell's environment",
        ("destroy", "ENV=dev", "STACK=monitoring", "CONFIRM=dev"),
        _ran("plan", "monitoring-dev"),
    ),
    "CONFIRM in MAKEFLAGS, vouched for by a typed value that holds CONFIRM=": (
        ("destroy", "ENV=dev", "STACK=monitoring CONFIRM=x"),
        {"MAKEFLAGS": "CONFIRM=dev"},
        "CONFIRM=dev came from MAKEFLAGS in your shell's environment",
        ("destroy", "ENV=dev", "STACK=monitoring", "CONFIRM=dev"),
        _ran("plan", "monitoring-dev"),
    ),
    "ENV of a destroy": (
        ("destroy", "STACK=monitoring", "CONFIRM=dev"),
        {"ENV": "dev"},
        "ENV=dev came from your shell's environment, not the make command line: a command that changes something "
        "takes what it works on only from the command line (make destroy ENV=dev STACK=monitoring CONFIRM=dev); "
        "unset ENV",
        ("destroy", "ENV=dev", "STACK=monitoring", "CONFIRM=dev"),
        _ran("plan", "monitoring-dev"),
    ),
    "FORCE": (
        ("deploy", "ENV=dev", "STACK=network"),
        {"FORCE": "1"},
        "FORCE came from your shell's environment",
        ("deploy", "ENV=dev", "STACK=network", "FORCE=1"),
        _ran("apply", "network-dev"),
    ),
    "ENV of bootstrap": (
        ("bootstrap",),
        {"ENV": "dev"},
        "ENV=dev came from your shell's environment",
        ("bootstrap", "ENV=dev"),
        lambda proc, engine: proc.returncode == 0 and "streamflix-tfstate-dev" in proc.stdout,
    ),
    "FROM and TO": (
        ("promote",),
        {"FROM": "dev", "TO": "staging"},
        "  - FROM=dev came from your shell's environment, not the make command line: a command that changes "
        "something takes what it works on only from the command line (make promote FROM=dev TO=staging); unset "
        "FROM\n  - TO=staging came from your shell's environment",
        ("promote", "FROM=dev", "TO=staging"),
        lambda proc, engine: "gate 1: working tree is clean: ok" in proc.stdout,  # then: no bucket here
    ),
    "CONFIRM of a plan": (
        ("plan", "ENV=dev", "STACK=network"),
        {"CONFIRM": "dev"},
        "CONFIRM=dev came from your shell's environment",
        ("plan", "ENV=dev", "STACK=network", "CONFIRM=dev"),
        _ran("plan", "network-dev"),
    ),
}


@pytest.mark.parametrize("case", list(FROM_THE_SHELL))
def test_consent_from_the_shell_is_refused_and_counts_only_typed(make, engine, case):
    args, shell, message, typed, counted = FROM_THE_SHELL[case]
    proc = make(*args, **shell)
    assert proc.returncode == 2 and "Error 2" in proc.stderr, proc.stdout + proc.stderr
    assert message in proc.stderr, proc.stderr
    assert engine.calls() == []
    kept = {name: value for name, value in shell.items() if not name.endswith("MAKEFLAGS")}
    proc = make(*typed, **kept)
    assert "came from" not in proc.stderr and "set in your environment" not in proc.stderr, proc.stderr
    assert counted(proc, engine), proc.stdout + proc.stderr


def test_an_empty_confirm_typed_is_no_yes_and_the_shells_counts_for_nothing(make, engine):
    for typed in (("CONFIRM=",), ()):
        proc = make("destroy", "ENV=dev", "STACK=monitoring", *typed, CONFIRM="dev")
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "refusing to destroy monitoring-dev without confirmation" in proc.stderr or (
            not typed and "CONFIRM=dev came from your shell's environment" in proc.stderr
        )
    assert engine.commands("apply") == []


def test_env_from_the_shell_is_refused_by_a_change_and_taken_by_a_plan(make, engine):
    # plan, drift, config, outputs, releases read: ENV from the shell still works there (and, when it is no
    # environment, says where it came from); what changes something takes it only typed.
    refused = make("deploy", "STACK=network", ENV="dev")
    assert refused.returncode == 2 and "ENV=dev came from your shell's environment" in refused.stderr
    assert engine.calls() == []
    planned = make("plan", "STACK=network", ENV="dev")
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert engine.commands("plan") == ["network-dev"]


def test_an_allow_replace_from_the_shell_approves_nothing(make, engine):
    # The data guard stops a deploy that would replace a precious resource until it is named; a name exported
    # in the shell pre-approved the next matching replacement.
    assert make("deploy", "ENV=dev", "STACK=network").returncode == 0
    key = "aws_kms_key.flow_logs_key_D66FA823"
    engine.set("CHANGES", json.dumps({"network-dev": [[key, ["delete", "create"], [["description"]]]]}))
    engine.clear()
    shell = make("deploy", "ENV=dev", "STACK=network", "FORCE=1", ALLOW_REPLACE=f"network:{key}")
    assert shell.returncode == 2
    assert f"ALLOW_REPLACE=network:{key} came from your shell's environment, not the make command line" in shell.stderr
    assert engine.calls() == []
    typed = make("deploy", "ENV=dev", "STACK=network", "FORCE=1", f"ALLOW_REPLACE=network:{key}")
    assert typed.returncode == 0, typed.stdout + typed.stderr
    assert engine.commands("apply") == ["network-dev"]


# What the Makefile builds the command line from, replaced from the shell: `make -e` lets the environment
# override the Makefile's definitions, and make counts a definition in MAKEFLAGS as typed. Each handed the
# command its arguments whole (ENGINE_ARGS), dropped the check (CLI), or blinded it (.SHELLFLAGS, through
# which the Makefile reads the environment make started with).
REPLACED = {
    "ENGINE_ARGS under make -e": (
        ("-e", "destroy"),
        {"ENGINE_ARGS": "--env dev --stack monitoring --confirm dev"},
        "ENV= is required",
    ),
    "ENGINE_ARGS in MAKEFLAGS": (
        ("destroy",),
        {"MAKEFLAGS": "ENGINE_ARGS=--env\\ dev\\ --stack\\ monitoring\\ --confirm\\ dev"},
        "ENV= is required",
    ),
    "CLI in MAKEFLAGS": (
        ("destroy", "ENV=dev", "STACK=monitoring"),
        {"MAKEFLAGS": "CLI=STREAMFLIX_NOT_TYPED=\\ .venv/bin/python\\ -m\\ shared.cli", "CONFIRM": "dev"},
        "CONFIRM=dev came from your shell's environment",
    ),
    ".SHELLFLAGS in MAKEFLAGS": (
        ("destroy", "ENV=dev", "STACK=monitoring"),
        {"MAKEFLAGS": "CONFIRM=dev .SHELLFLAGS=-c\\ exec\\ true\\ "},
        "CONFIRM=dev came from MAKEFLAGS in your shell's environment",
    ),
}


@pytest.mark.parametrize("case", list(REPLACED))
def test_the_makefiles_own_definitions_cannot_be_replaced_from_the_shell(make, engine, case):
    args, shell, message = REPLACED[case]
    proc = make(*args, **shell)
    assert proc.returncode == 2 and message in proc.stderr, proc.stdout + proc.stderr
    assert engine.calls() == []


# ---------------------------------------------------------------- no secret in any engine output


def test_tf_log_in_the_shell_puts_no_secret_on_the_console_or_in_a_file(make, engine, repo_copy, tmp_path):
    # The stand-in logs the secret at a debug level as the AWS provider logs GetSecretValue's response: on the
    # console (and in engine-output.log) without TF_LOG_PATH, in TF_LOG_PATH's file with it.
    secret = "pa&ss<wo>rd-" + "x" * 20
    for shell in ({"TF_LOG": "DEBUG"}, {"TF_LOG": "TRACE", "TF_LOG_PATH": str(tmp_path / "tf.log")}):
        engine.clear()
        proc = make("deploy", "ENV=dev", "STACK=network", "FORCE=1", FAKE_TF_SECRET=secret, **shell)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert engine.commands("plan") == ["network-dev"]
        assert secret not in proc.stdout + proc.stderr
        for log in (repo_copy / "cdktf.out").rglob("engine-output.log"):
            assert secret not in log.read_text(), log
        assert not (tmp_path / "tf.log").exists()
        assert all(entry["log_env"] == {} for entry in engine.entries())
        names = ", ".join(sorted(shell))
        notice = f"{names} {'is' if len(shell) == 1 else 'are'} set in your shell: the engine does not get"
        assert proc.stderr.count(notice) == 1, proc.stderr


@pytest.mark.parametrize("target", ["local", "local-down", "emulator", "emulator-stop"])
def test_a_target_with_a_default_environment_ignores_an_env_it_was_not_typed(make, target):
    """sh's ENV names a startup file: it must not refuse `make local`, nor a MAKEFLAGS ENV choose for it."""
    for shell in ({"ENV": "/root/.shrc"}, {"MAKEFLAGS": "ENV=dev"}):
        shown = make("-n", target, **shell)
        assert shown.returncode == 0, shown.stderr
        (line,) = [line for line in shown.stdout.splitlines() if "shared.cli" in line]
        assert line.startswith("STREAMFLIX_NOT_TYPED='' ") and "--env local" in line, line
    typed = make("-n", target, "ENV=local", ENV="/root/.shrc")
    assert "--env 'local'" in typed.stdout, typed.stdout


def test_clean_never_removes_an_errored_state(make, repo_copy):
    left = repo_copy / "cdktf.out/stacks/data-dev/errored.tfstate"
    left.write_text('{"lineage": "x"}')
    refused = make("clean")
    assert refused.returncode == 2 and "not removing cdktf.out" in refused.stderr and "data-dev" in refused.stderr
    assert left.is_file()
    left.unlink()
    assert make("clean").returncode == 0 and not (repo_copy / "cdktf.out").exists()


def test_a_makefile_of_makefiles_that_adds_consent_to_makeflags_is_refused(make, repo_copy, engine):
    extra = repo_copy.parent / "extra.mk"
    extra.write_text("MAKEFLAGS += CONFIRM=dev\n")
    refused = make("destroy", "ENV=dev", "STACK=monitoring", MAKEFILES=str(extra))
    assert refused.returncode == 2 and "CONFIRM=dev came from MAKEFLAGS" in refused.stderr, refused.stderr
    assert [c for c, _, _ in engine.calls() if c in ("plan", "apply")] == []


def test_outputs_takes_name_only_typed(make, engine):
    # Some shells set NAME (the host's name): it must not turn `make outputs` into a lookup.
    shell = make("outputs", "ENV=dev", NAME="myhost")
    assert shell.returncode == 0 and "wrote " in shell.stdout, shell.stdout + shell.stderr
    typed = make("outputs", "ENV=dev", "NAME=data.dlq_ulr")
    assert typed.returncode == 2 and "NAME=data.dlq_ulr: no such output of dev" in typed.stderr, typed.stderr
    empty = make("outputs", "ENV=dev", "NAME=")  # NAME=$unset in a script
    assert empty.returncode == 2 and "NAME= is empty" in empty.stderr, empty.stderr


def test_on_a_terminal_a_destroy_shows_its_plans_then_asks(make, engine, repo_copy, fresh_aws):
    """A real pseudo-terminal: the summary of what would be destroyed comes before the question, and the answer
    typed there applies exactly the reviewed plans."""
    import os
    import pty
    import select
    import time

    assert make("deploy", "ENV=dev", "STACK=network").returncode == 0
    engine.clear()
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(
        ["make", "destroy", "ENV=dev", "STACK=network"],
        cwd=repo_copy,
        env=served_aws_env(fresh_aws),
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        close_fds=True,
    )
    os.close(terminal)
    seen, answered, deadline = b"", False, time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 1)
        if ready:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the other side closed: the command ended
                break
            seen += chunk
        if not answered and b"Type 'dev' to go on:" in seen:
            os.write(controller, b"dev\n")
            answered = True
        if proc.poll() is not None and not ready:
            break
    proc.wait(timeout=60)
    os.close(controller)
    text = seen.decode(errors="replace")
    assert answered, text[-3000:]
    assert text.index("destroy dev: the plan to approve") < text.index("About to destroy network-dev"), text[-3000:]
    assert proc.returncode == 0, text[-3000:]
    assert engine.commands("plan") == ["network-dev"] and engine.commands("apply") == ["network-dev"]
