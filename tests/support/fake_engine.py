"""A stand-in for the terraform binary: records each invocation and plays a plausible part.

Put on PATH as `terraform` by the `engine` fixture. It keeps "state" per stack in FAKE_TF_STATE
(a folder), reads the stack's cdk.tf.json to know its resources and outputs, and obeys:
  FAKE_TF_LOG      JSON lines file: one {"args": [...], "cwd": "...", "log_env": {TF_LOG*: ...}, "retarget_env":
                   {TF_WORKSPACE, TF_CLI_ARGS*, ...}} per invocation
  FAKE_TF_FAIL     "<command>:<stack id>" (e.g. "apply:compute-dev"): that step fails
  FAKE_TF_DRIFT    comma-separated stack ids whose deployed infrastructure differs from the code
  FAKE_TF_LOCKED   "<command>:<stack id>": that step fails as Terraform does when another run holds the
                   state lock (its "Lock Info" included), unless it runs with -lock=false
  FAKE_TF_CHANGES  JSON {stack id: [[address, actions, replace_paths(, {"before": .., "after": ..})], ...]}:
                   what a plan of that deployed stack changes (e.g. [["aws_sqs_queue.dlq", ["delete", "create"],
                   [["name"]]]], or an update [["aws_sqs_queue.dlq", ["update"], [], {"before": {...}, ...}]])
  FAKE_TF_UNINSTALLABLE  a provider source (e.g. "hashicorp/random"): the init of a stack that requires it
                   fails as Terraform's does when neither a mirror nor the registry serves it
  FAKE_TF_S3       "1": an apply also writes the stack's state object (its outputs) to the S3 bucket and key
                   of its backend, as the real engine does, for the tools that read state directly. Only
                   when served in the test process (`in_process`), where moto's in-process mock is AWS
  FAKE_TF_OUTPUTS  JSON file {stack id: {output name: value}} overriding the invented output values
  FAKE_TF_ERRORED  "apply:<stack id>": that apply (or its graceful stop under FAKE_TF_SLOW) cannot save the
                   state, as when the credentials expire mid-apply: it writes errored.tfstate into the working
                   directory instead, and fails. `state push <file>` makes such a file the stack's state
  FAKE_TF_VERSION  what `version -json` reports (default 1.11.4)
  FAKE_TF_SHOW     "<stack id>:warning|truncated|text|list|empty|null|actionless": that stack's `show -json`
                   prints a warning line before the JSON, half of it, text that is not JSON, JSON that is not an
                   object, or an object that is not a plan (no format_version, resource_changes null, a change
                   without actions)
  FAKE_TF_SECRET   what a plan or apply logs when TF_LOG is set, as the AWS provider logs the GetSecretValue
                   response of the database secret: to TF_LOG_PATH when set, else to the engine's stderr
  FAKE_TF_SLOW     "apply:<stack id>": that apply traps signals as Terraform does and works until
                   <stack>.finish appears in FAKE_TF_STATE: the first SIGINT/SIGTERM stops it gracefully
                   (it still saves state, for as long as <stack>.hold exists, and fails), a second one
                   stops it at once without saving. It writes <stack>.trapping in FAKE_TF_STATE once
                   its handlers are in place, and one line per signal to <stack>.signals.

Each call is either its own Python process (this file run as a script: what the signal tests need) or
served inside the test process through fake_engine_client.c (fake_engine_server.py): `run` is the same
in both and takes the call's working directory and environment rather than reading its own.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

Write = Callable[[str], None]
_RETARGETING = ("TF_WORKSPACE", "TF_DATA_DIR", "TF_REATTACH_PROVIDERS")


def run(argv: list[str], cwd: Path, env: Mapping[str, str], out: Write, err: Write, *, in_process: bool = False) -> int:
    """One engine call: what it prints goes to `out` and `err`, its exit code is returned."""
    stack = cwd.name
    logging = {k: v for k, v in env.items() if k.startswith(("TF_LOG", "TF_ACC_LOG"))}  # what it would log by
    # What would move Terraform elsewhere: another workspace (state key), extra arguments, another data dir.
    moving = {k: v for k, v in env.items() if k.startswith("TF_CLI_ARGS") or k in _RETARGETING}
    entry = {"args": argv, "cwd": str(cwd), "log_env": logging, "retarget_env": moving}
    if argv[:1] == ["apply"] and (cwd / argv[-1]).is_file():  # who could read the plan it applies
        entry.update(plan_mode=oct((cwd / argv[-1]).stat().st_mode & 0o777), dir_mode=oct(cwd.stat().st_mode & 0o777))
    with open(env["FAKE_TF_LOG"], "a") as log:
        log.write(json.dumps(entry) + "\n")
    command = argv[0] if argv else ""
    if env.get("TF_LOG") and command in ("plan", "apply"):
        _log_debug(
            env,
            f"[DEBUG] provider.terraform-provider-aws: HTTP Response Received: {stack}: "
            f'{{"SecretString":{json.dumps(env.get("FAKE_TF_SECRET", ""))}}}\n',
            err,
        )
    if command == "version":
        out(json.dumps({"terraform_version": env.get("FAKE_TF_VERSION", "1.11.4")}) + "\n")
        return 0
    if env.get("FAKE_TF_FAIL") == f"{command}:{stack}":
        err(f"Error: {command} failed in {stack}: InvalidParameterException: the fake engine was told to fail\n")
        return 1
    if env.get("FAKE_TF_LOCKED") == f"{command}:{stack}" and "-lock=false" not in argv:
        err(LOCKED.format(stack=stack))
        return 1
    if command == "force-unlock":
        return _force_unlock(cwd, argv[-1], out, err)
    state_file = Path(env["FAKE_TF_STATE"]) / f"{stack}.json"
    deployed = state_file.exists()
    if command == "init" and (missing := env.get("FAKE_TF_UNINSTALLABLE")):
        wanted = json.loads((cwd / "cdk.tf.json").read_text())["terraform"].get("required_providers", {})
        # A source without a namespace ("aws", as cdktf writes the prebuilt AWS provider's) is hashicorp's.
        sources = {n: s if "/" in s else f"hashicorp/{s}" for n, p in wanted.items() if (s := p.get("source", n))}
        version = next((wanted[n]["version"] for n, s in sources.items() if s == missing), None)
        if version is not None:
            out(f'Initializing provider plugins...\n- Finding {missing} versions matching "{version}"...\n')
            err(UNINSTALLABLE.format(source=missing))
            return 1
    if command == "init":
        (cwd / ".terraform").mkdir(exist_ok=True)  # as Terraform does: where it keeps the backend and providers
        out("Terraform has been successfully initialized!\n")
        return 0
    if command == "plan":
        out(f"planning {stack}\n")
        destroy = "-destroy" in argv
        resources = [f"{t}.{n}" for t, items in _doc(cwd).get("resource", {}).items() for n in items]
        if destroy:
            changes = [(r, ["delete"]) for r in resources] if deployed else []
        elif not deployed:
            changes = [(r, ["create"]) for r in resources]
        elif stack in env.get("FAKE_TF_DRIFT", "").split(","):
            changes = [(resources[0], ["update"])]
        else:
            changes = [tuple(c) for c in json.loads(env.get("FAKE_TF_CHANGES") or "{}").get(stack, [])]
        plan_file = next((a.split("=", 1)[1] for a in argv if a.startswith("-out=")), None)
        if plan_file:
            (cwd / plan_file).write_text(json.dumps({"destroy": destroy, "changes": changes}))
        out(f"Plan: {len(changes)} to change.\n" if changes else "No changes.\n")
        return 2 if changes and "-detailed-exitcode" in argv else 0
    if command == "show":
        plan = json.loads((cwd / argv[-1]).read_text())
        changes = [
            {
                "address": change[0],
                "mode": "managed",
                "type": change[0].split(".")[0],
                "change": {
                    "actions": change[1],
                    **({"replace_paths": change[2]} if len(change) > 2 and change[2] else {}),
                    **(change[3] if len(change) > 3 else {}),  # {"before": {...}, "after": {...}}
                },
            }
            for change in plan["changes"]
        ]
        shown = json.dumps({"format_version": "1.2", "resource_changes": changes}) + "\n"
        garble = env.get("FAKE_TF_SHOW", "")  # "<stack id>:<how>": what a broken engine or wrapper prints
        if garble.startswith(f"{stack}:"):
            how = garble.split(":", 1)[1]
            shown = {
                "warning": "Warning: a provider printed this on stdout\n" + shown,
                "truncated": shown[: len(shown) // 2],
                "text": "\x1b[31mnot json at all \xff\x00\n",
                "list": "[]\n",
                "empty": "{}\n",  # parses, but is no plan: it must not pass for one that changes nothing
                "null": '{"format_version": "1.2", "resource_changes": null}\n',
                "actionless": '{"format_version": "1.2", "resource_changes": [{"address": "aws_sqs_queue.dlq"}]}\n',
            }[how]
        out(shown)
        return 0
    if command == "apply":
        plan = json.loads((cwd / argv[-1]).read_text())
        errored = env.get("FAKE_TF_ERRORED") == f"apply:{stack}"
        if env.get("FAKE_TF_SLOW") == f"apply:{stack}":  # only ever in a process of its own (signals)
            _slow_until_interrupted(Path(env["FAKE_TF_STATE"]), stack, cwd if errored else None)
        if errored:
            outputs = {name: f"{stack}:{name}" for name in _doc(cwd).get("output", {})}
            (cwd / ERRORED_STATE).write_text(json.dumps(_state_file(stack, outputs)))
            err(NOT_SAVED)
            return 1
        if plan["destroy"]:
            state_file.unlink(missing_ok=True)
            outputs = {}
        else:
            overrides = json.loads(Path(env["FAKE_TF_OUTPUTS"]).read_text()) if env.get("FAKE_TF_OUTPUTS") else {}
            mine = overrides.get(stack, {})
            outputs = {name: mine.get(name, f"{stack}:{name}") for name in _doc(cwd).get("output", {})}
            state_file.write_text(json.dumps(outputs))
        if in_process and env.get("FAKE_TF_S3") == "1":
            _write_state_object(_doc(cwd), outputs)
        out("Apply complete!\n")
        return 0
    removed = Path(env["FAKE_TF_STATE"]) / f"{stack}.removed"
    if command == "state" and argv[1:2] == ["list"]:
        gone = removed.read_text().split() if removed.exists() else []
        held = [f"{t}.{n}" for t, items in _doc(cwd).get("resource", {}).items() for n in items] if deployed else []
        out("".join(f"{a}\n" for a in held if a not in gone))
        return 0
    if command == "state" and argv[1:2] == ["show"]:
        out(f'resource "{argv[-1]}" {{\n    arn = "arn:fake:{stack}:{argv[-1]}"\n}}\n')
        return 0
    if command == "state" and argv[1:2] == ["push"]:
        try:
            pushed = json.loads(Path(cwd, argv[-1]).read_text())
            outputs = {k: v["value"] for k, v in pushed["outputs"].items()}
            if not pushed.get("lineage"):  # as Terraform, which refuses a file without one
                raise ValueError("the state has no lineage")
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            err(f"Error: Failed to load state: {exc}\n")
            return 1
        state_file.write_text(json.dumps(outputs))
        if in_process and env.get("FAKE_TF_S3") == "1":
            _write_state_object(_doc(cwd), outputs)
        return 0
    if command == "state" and argv[1:2] == ["rm"]:
        with open(removed, "a") as f:
            f.write(argv[-1] + "\n")
        out(f"Removed {argv[-1]}\nSuccessfully removed 1 resource instance(s).\n")
        return 0
    if command == "output":
        outputs = json.loads(state_file.read_text()) if deployed else {}
        out(json.dumps({k: {"value": v, "sensitive": False} for k, v in outputs.items()}) + "\n")
        return 0
    err(f"fake engine: unsupported command {argv}\n")
    return 1


def _state_file(stack: str, outputs: dict) -> dict:
    """A state as Terraform writes it (the parts the stand-in reads back)."""
    return {
        "version": 4,
        "serial": 7,
        "lineage": f"fake-{stack}",
        "outputs": {k: {"value": v, "type": "string"} for k, v in outputs.items()},
        "resources": [],
    }


def _log_debug(env: Mapping[str, str], line: str, err: Write) -> None:
    """As Terraform logs: to TF_LOG_PATH when it is set, else to stderr (which the tool shows and keeps)."""
    if env.get("TF_LOG_PATH"):
        with open(env["TF_LOG_PATH"], "a") as log:
            log.write(line)
    else:
        err(line)


def _write_state_object(doc: dict, outputs: dict) -> None:
    import boto3  # moto's in-process mock is active: this is the test's AWS

    backend = doc["terraform"]["backend"]["s3"]
    state = {"version": 4, "serial": 1, "outputs": {k: {"value": v, "type": "string"} for k, v in outputs.items()}}
    boto3.client("s3", region_name=backend["region"]).put_object(
        Bucket=backend["bucket"], Key=backend["key"], Body=json.dumps(state).encode()
    )


UNINSTALLABLE = """
Error: Failed to query available provider packages

Could not retrieve the list of available versions for provider {source}: could not connect to
registry.terraform.io: failed to request discovery document: Get
"https://registry.terraform.io/.well-known/terraform.json": dial tcp: lookup registry.terraform.io: no such host
"""

ERRORED_STATE = "errored.tfstate"

# What Terraform says when it cannot write the state at the end of an apply.
NOT_SAVED = """
Error: Failed to save state

Error saving state: failed to upload state: operation error S3: PutObject, https response error StatusCode: 400,
api error ExpiredToken: The provided token has expired.

Error: Failed to persist state to backend

The error shown above has prevented Terraform from writing the updated state to the configured backend. To
allow for recovery, the state has been written to the file "errored.tfstate" in the current working
directory.
"""

LOCKED = """
Error: Error acquiring the state lock

Error message: operation error S3: PutObject, https response error StatusCode: 412, RequestID: FAKE, api
error PreconditionFailed: At least one of the pre-conditions you specified did not hold
Lock Info:
  ID:        6f1c2a9e-0b7d-4c1e-9f3a-{stack}
  Path:      streamflix-tfstate-dev/streamflix/dev/{stack}.tfstate
  Operation: OperationTypeApply
  Who:       ci@runner-17
  Version:   1.11.4
  Created:   2026-11-30 23:59:00.123456789 +0000 UTC
  Info:


Terraform acquires a state lock to protect the state from being written
by multiple users at the same time. Please resolve the issue above and try
again. For most commands, you can disable locking with the "-lock=false"
flag, but this is not recommended.
"""


def _force_unlock(cwd: Path, lock_id: str, out: Write, err: Write) -> int:
    """As Terraform's force-unlock with the S3 backend: remove <key>.tflock if its ID is the one given.
    Served inside the test process, so the bucket is moto's."""
    import boto3

    backend = _doc(cwd)["terraform"]["backend"]["s3"]
    s3 = boto3.client("s3", region_name=backend["region"])
    key = backend["key"] + ".tflock"
    held = json.loads(s3.get_object(Bucket=backend["bucket"], Key=key)["Body"].read())
    if held["ID"] != lock_id:
        err(f"Failed to unlock state: lock ID {lock_id!r} does not match existing lock ID {held['ID']!r}\n")
        return 1
    s3.delete_object(Bucket=backend["bucket"], Key=key)
    out("Terraform state has been successfully unlocked!\n")
    return 0


def _slow_until_interrupted(folder: Path, stack: str, errored: Path | None = None) -> None:
    """Work until the test says the work is done (<stack>.finish appears) or a signal arrives; on a first
    signal save state (as long as <stack>.hold exists, else at once; into `errored`/errored.tfstate when
    the backend cannot take it) and fail; on a second, die unsaved. The test moves each phase on when it
    has seen what it waits for, not after a guessed sleep."""
    import signal
    import time

    received: list[int] = []

    def on_signal(signum, _frame):
        received.append(signum)
        with open(folder / f"{stack}.signals", "a") as log:
            log.write(f"{signal.Signals(signum).name}\n")
        if len(received) == 1:
            print("Interrupt received. Gracefully shutting down... saving state", flush=True)
        else:
            print("Two interrupts received. Exiting immediately. Note that data loss may have occurred.", flush=True)
            os._exit(1)

    def wait(until, limit: float = 30) -> None:  # the limit only ends a test that forgot to move on
        deadline = time.monotonic() + limit
        while not until() and time.monotonic() < deadline:
            time.sleep(0.01)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    (folder / f"{stack}.trapping").touch()
    print(f"{stack}: Creating... (caf\xe9 is not UTF-8)", flush=True)
    sys.stdout.flush()
    sys.stdout.buffer.write(b"bytes: caf\xe9\n")
    sys.stdout.buffer.flush()
    wait(lambda: received or (folder / f"{stack}.finish").exists())
    if received:
        wait(lambda: not (folder / f"{stack}.hold").exists())  # writing state
        if errored is not None:
            (errored / ERRORED_STATE).write_text(json.dumps(_state_file(stack, {"partial": "saved"})))
            print(NOT_SAVED, flush=True)
        else:
            (folder / f"{stack}.json").write_text(json.dumps({"partial": "saved"}))
        print("Error: execution halted", flush=True)
        sys.exit(1)


def _doc(cwd: Path) -> dict:
    return json.loads((cwd / "cdk.tf.json").read_text())


def _write(stream) -> Write:
    def write(text: str) -> None:
        stream.write(text)
        stream.flush()

    return write


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:], Path.cwd(), os.environ, _write(sys.stdout), _write(sys.stderr)))
