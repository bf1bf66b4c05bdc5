"""A stand-in for the terraform binary: records each invocation and plays a plausible part.

Put on PATH as `terraform` by the `engine` fixture. It keeps "state" per stack in FAKE_TF_STATE
(a folder), reads the stack's cdk.tf.json to know its resources and outputs, and obeys:
  FAKE_TF_LOG      JSON lines file: one {"args": [...], "cwd": "..."} per invocation
  FAKE_TF_FAIL     "<command>:<stack id>" (e.g. "apply:compute-dev"): that step fails
  FAKE_TF_DRIFT    comma-separated stack ids whose deployed infrastructure differs from the code
  FAKE_TF_OUTPUTS  JSON file {stack id: {output name: value}} overriding the invented output values
  FAKE_TF_VERSION  what `version -json` reports (default 1.10.5)
  FAKE_TF_SLOW     "<command>:<stack id>": that step takes 3 s and traps signals as Terraform does: the
                   first SIGINT/SIGTERM stops it gracefully (it still saves state, taking a second, and
                   fails), a second one stops it at once without saving. It writes <stack>.trapping in
                   FAKE_TF_STATE once its handlers are in place, and one line per signal to
                   <stack>.signals.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    cwd = Path.cwd()
    stack = cwd.name
    with open(os.environ["FAKE_TF_LOG"], "a") as log:
        log.write(json.dumps({"args": argv, "cwd": str(cwd)}) + "\n")
    command = argv[0] if argv else ""
    if command == "version":
        print(json.dumps({"terraform_version": os.environ.get("FAKE_TF_VERSION", "1.10.5")}))
        return 0
    if os.environ.get("FAKE_TF_FAIL") == f"{command}:{stack}":
        print(f"Error: {command} failed in {stack}: InvalidParameterException: the fake engine was told to fail",
              file=sys.stderr)  # fmt: skip
        return 1
    state_file = Path(os.environ["FAKE_TF_STATE"]) / f"{stack}.json"
    deployed = state_file.exists()
    if command == "init":
        (cwd / ".terraform").mkdir(exist_ok=True)  # as Terraform does: where it keeps the backend and providers
        print("Terraform has been successfully initialized!")
        return 0
    if command == "plan":
        print(f"planning {stack}", flush=True)
        destroy = "-destroy" in argv
        resources = [f"{t}.{n}" for t, items in _doc(cwd).get("resource", {}).items() for n in items]
        if destroy:
            changes = [(r, ["delete"]) for r in resources] if deployed else []
        elif not deployed:
            changes = [(r, ["create"]) for r in resources]
        elif stack in os.environ.get("FAKE_TF_DRIFT", "").split(","):
            changes = [(resources[0], ["update"])]
        else:
            changes = []
        out = next((a.split("=", 1)[1] for a in argv if a.startswith("-out=")), None)
        if out:
            (cwd / out).write_text(json.dumps({"destroy": destroy, "changes": changes}))
        print(f"Plan: {len(changes)} to change." if changes else "No changes.")
        return 2 if changes and "-detailed-exitcode" in argv else 0
    if command == "show":
        plan = json.loads((cwd / argv[-1]).read_text())
        print(json.dumps({"resource_changes": [{"address": a, "change": {"actions": c}} for a, c in plan["changes"]]}))
        return 0
    if command == "apply":
        plan = json.loads((cwd / argv[-1]).read_text())
        if os.environ.get("FAKE_TF_SLOW") == f"apply:{stack}":
            _slow_until_interrupted(Path(os.environ["FAKE_TF_STATE"]), stack)
        if plan["destroy"]:
            state_file.unlink(missing_ok=True)
        else:
            overrides = json.loads(Path(os.environ["FAKE_TF_OUTPUTS"]).read_text()) if os.environ.get(
                "FAKE_TF_OUTPUTS") else {}  # fmt: skip
            mine = overrides.get(stack, {})
            outputs = {name: mine.get(name, f"{stack}:{name}") for name in _doc(cwd).get("output", {})}
            state_file.write_text(json.dumps(outputs))
        print("Apply complete!")
        return 0
    if command == "output":
        outputs = json.loads(state_file.read_text()) if deployed else {}
        print(json.dumps({k: {"value": v, "sensitive": False} for k, v in outputs.items()}))
        return 0
    print(f"fake engine: unsupported command {argv}", file=sys.stderr)
    return 1


def _slow_until_interrupted(folder: Path, stack: str) -> None:
    """Work for 3 s; on a first signal finish saving state (1 s) and fail; on a second, die unsaved."""
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

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    (folder / f"{stack}.trapping").touch()
    print(f"{stack}: Creating... (caf\xe9 is not UTF-8)", flush=True)
    sys.stdout.flush()
    sys.stdout.buffer.write(b"bytes: caf\xe9\n")
    sys.stdout.buffer.flush()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and not received:
        time.sleep(0.05)
    if received:
        time.sleep(1.0)  # writing state
        (folder / f"{stack}.json").write_text(json.dumps({"partial": "saved"}))
        print("Error: execution halted", flush=True)
        sys.exit(1)


def _doc(cwd: Path) -> dict:
    return json.loads((cwd / "cdk.tf.json").read_text())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
