"""A stack whose state the engine could not save: recorded beside its state, so that every checkout refuses the
stack until `make push-state` has put the state back.

Terraform writes errored.tfstate into the stack's working directory when it cannot save the state at the end
of a run (the bucket unreachable, the credentials expired mid-apply): that file is then the only record of
what the run created, and the state in the bucket is stale; a plan against it would create everything again,
or destroy it. The file is on one machine (under CI, in a job artifact), so when an apply or a destroy that
ends badly leaves one, the tool records it in the state bucket, `<key_prefix>/<suffix>/errored/<stack>.json`:
when, on which host and where, at which revision, and under CI the artifact that keeps the file and the run.
Before the engine runs on a stack, a record, a record that cannot be read (fail safe), or the file itself in
the working directory refuses the stack, saying where the file is and the steps that push it back.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from shared.config import EnvironmentConfig
from shared.errors import UsageError
from shared.ops.engine.workdir import Stack
from shared.ops.state_bucket.bucket import BucketError, StateBucket
from shared.workdirs import ERRORED_STATE

# What S3 says of an object that is not there (a bucket that is not there holds no record either).


class Unreadable(Exception):
    """Whether a record exists could not be found out: the stack is refused, as if it did."""


@dataclass(frozen=True)
class CiRun:
    """The GitHub Actions run this process is part of: the artifact its workflow keeps errored.tfstate in."""

    artifact: str
    url: str


def ci_run(environ: Mapping[str, str]) -> CiRun | None:
    """Under GitHub Actions, the artifact `.github/workflows/pipeline.yml` uploads errored.tfstate to (named
    there `errored-state-<job>-<run id>-<attempt>`) and the run's address; None anywhere else. The one place
    that reads the runner's variables."""
    job, run_id = environ.get("GITHUB_JOB", ""), environ.get("GITHUB_RUN_ID", "")
    if not job or not run_id:
        return None
    attempt = environ.get("GITHUB_RUN_ATTEMPT") or "1"
    server = environ.get("GITHUB_SERVER_URL") or "https://github.com"
    repository = environ.get("GITHUB_REPOSITORY", "")
    return CiRun(f"errored-state-{job}-{run_id}-{attempt}", f"{server}/{repository}/actions/runs/{run_id}")


@dataclass(frozen=True)
class Origin:
    """Where a command runs, as a record tells it to whoever reads it later, elsewhere."""

    host: str
    revision: str = ""
    ci: CiRun | None = None

    @classmethod
    def here(cls, revision: str, environ: Mapping[str, str] = os.environ) -> Origin:
        return cls(socket.gethostname(), revision, ci_run(environ))


@dataclass(frozen=True)
class Record:
    """What is recorded of an errored.tfstate: enough for someone on another machine to find it."""

    stack: str  # the stack id: data-dev
    command: str  # what left it: deploy, destroy
    recorded_at: str
    host: str
    path: str  # where the engine left it, on that host
    revision: str = ""
    artifact: str = ""  # under CI: the workflow artifact that keeps the file
    run_url: str = ""

    def body(self) -> bytes:
        return json.dumps(asdict(self), indent=2, sort_keys=True).encode()

    @classmethod
    def parse(cls, body: bytes) -> Record:
        """Raises ValueError when `body` is not a record."""
        try:
            doc = json.loads(body)
            return cls(
                **{f: str(doc[f]) for f in ("stack", "command", "recorded_at", "host", "path")},
                **{f: str(doc.get(f) or "") for f in ("revision", "artifact", "run_url")},
            )
        except (KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
            raise ValueError(f"not a record of an errored state ({exc})") from None

    def when(self) -> str:
        revision = f", revision {self.revision[:12]}" if self.revision else ""
        return f"{self.command} on {self.host} ({self.recorded_at}{revision})"


def left(stack: Stack, command: str, origin: Origin, now: datetime) -> Record:
    """The record of the errored.tfstate the engine has just left in the stack's working directory."""
    return Record(
        stack=stack.id,
        command=command,
        recorded_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        host=origin.host,
        path=str((stack.workdir / ERRORED_STATE).absolute()),
        revision=origin.revision,
        artifact=origin.ci.artifact if origin.ci else "",
        run_url=origin.ci.url if origin.ci else "",
    )


def key(env: EnvironmentConfig, stack_name: str) -> str:
    return StateBucket(env).errored_key(stack_name)


def where(env: EnvironmentConfig, stack_name: str) -> str:
    return f"s3://{env.state.bucket}/{key(env, stack_name)}"


def record(env: EnvironmentConfig, stack_name: str, done: Record) -> None:
    """Raises BucketError when the record could not be written."""
    StateBucket(env).put(key(env, stack_name), done.body())


def read(env: EnvironmentConfig, stack_name: str) -> Record | None:
    """The stack's record (None: there is none). Raises Unreadable when it cannot be told: an error other
    than an absent object, or an object that is not a record."""
    try:
        body = StateBucket(env).get(key(env, stack_name))
    except BucketError as exc:
        raise Unreadable(f"{where(env, stack_name)} cannot be read ({exc.cause})") from None
    if body is None:
        return None
    try:
        return Record.parse(body)
    except ValueError as exc:
        raise Unreadable(f"{where(env, stack_name)} is there but unreadable: {exc}") from None


def forget(env: EnvironmentConfig, stack_name: str) -> None:
    """Once the state is pushed back. Raises BucketError when the record may still be there."""
    StateBucket(env).delete(key(env, stack_name))


# ------------------------------------------------------------------ what a user is told


def env_args(env: EnvironmentConfig) -> str:
    """ENV= (and SUFFIX= for a copy) as a command for this environment needs them."""
    return f"ENV={env.name}" + (f" SUFFIX={env.suffix}" if env.suffix != env.name else "")


def push_command(env: EnvironmentConfig, stack_name: str, file: str) -> str:
    """The command that pushes `file` back as the stack's state (a protected environment needs its yes)."""
    confirm = f" CONFIRM={env.suffix}" if env.protected else ""
    return f"make push-state {env_args(env)} STACK={stack_name} FILE={shlex.quote(file)}{confirm}"


def _shown(path: Path | str) -> str:
    """A path as the user would type it from the checkout (make runs there)."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def how_to_push(env: EnvironmentConfig, stack: Stack, rec: Record | None, local: Path | None, here: str) -> str:
    """Where the errored.tfstate of `stack` is, and the exact steps that push it back. `local`: the file in
    this checkout's working directory; `here`: this host (a record made here may name a file here)."""
    if rec is not None and rec.artifact and local is None:
        # The record comes from the bucket: anything in it is quoted before it becomes a line to copy.
        run_id = shlex.quote(rec.run_url.rstrip("/").rsplit("/", 1)[-1])
        artifact = shlex.quote(rec.artifact)
        unpacked = f"{rec.artifact}/{stack.id}/{ERRORED_STATE}"  # the artifact keeps each stack's folder
        return (
            f"The workflow keeps the file as the artifact {rec.artifact} of {rec.run_url}. Push it back from a "
            "checkout of this repository:\n"
            f"    gh run download {run_id} --name {artifact} --dir {artifact}\n"
            f"    {push_command(env, stack.name, unpacked)}\n"
            f"(or download the artifact from the run's page and unpack it: the file is {stack.id}/{ERRORED_STATE} "
            "in it)"
        )
    if local is None and rec is not None and rec.host == here and Path(rec.path).is_file():
        local = Path(rec.path)  # another checkout on this machine
    if local is not None:
        return f"The file is {_shown(local)}. Push it back: {push_command(env, stack.name, _shown(local))}"
    if rec is None:  # never reached: a stack is refused for a record or a file
        return ""
    return (
        f"The file was left on {rec.host}, at {rec.path}. Push it back there, in that checkout:\n"
        f"    {push_command(env, stack.name, rec.path)}\n"
        "(or copy the file into a checkout of this repository and name the copy as FILE=)"
    )


@dataclass(frozen=True)
class Stranded:
    """What refuses one stack: its record, a record that cannot be read, or the file in this checkout."""

    stack: Stack
    record: Record | None = None
    unreadable: str = ""
    local: Path | None = None  # errored.tfstate in this checkout's working directory

    def describe(self, env: EnvironmentConfig, here: str) -> str:
        sid = self.stack.id
        if self.unreadable and self.local is None:
            return (
                f"{sid}: whether the engine left an errored state of it cannot be told: {self.unreadable}. It is "
                "refused as if it had (its state in the bucket may be stale): let these credentials read that "
                f"object (s3:GetObject, and s3:ListBucket on {env.state.bucket}, so that no record reads as "
                "absent), then run the command again"
            )
        if self.record is not None:
            what = f"the engine could not save the state of {sid} at the end of a {self.record.when()}"
        else:
            what = f"the engine could not save the state of {sid} last time"
        return (
            f"{what}: the errored.tfstate it left is the only record of what that run created, and the state in "
            f"the bucket is stale. {how_to_push(env, self.stack, self.record, self.local, here)}"
        )


def refusal(env: EnvironmentConfig, stranded: list[Stranded], here: str) -> str:
    """The message that refuses the stacks: for each, where its file is and the steps that push it back."""
    return (
        "\n\n".join(s.describe(env, here) for s in stranded)
        + "\n\nNothing may run on such a stack until its state is pushed back: a plan against the stale state "
        "would create again what that run created, or destroy it. Nothing was run."
    )


def find(env: EnvironmentConfig, stacks: list[Stack]) -> list[Stranded]:
    """Every stack of `stacks` that must be refused, in their order."""
    found = []
    for stack in stacks:
        local = stack.workdir / ERRORED_STATE
        try:
            rec, unreadable = read(env, stack.name), ""
        except Unreadable as exc:
            rec, unreadable = None, str(exc)
        if rec is not None or unreadable or local.is_file():
            found.append(Stranded(stack, rec, unreadable, local if local.is_file() else None))
    return found


def refuse(env: EnvironmentConfig, stacks: list[Stack]) -> None:
    """Before the engine runs on `stacks`: exit 2 when one of them has an errored state, here or recorded."""
    if stranded := find(env, stacks):
        raise UsageError(refusal(env, stranded, socket.gethostname()))


def left_behind(env: EnvironmentConfig, stack: Stack, command: str, origin: Origin, now: datetime) -> str:
    """After an apply or destroy of `stack` that ended badly: when the engine left errored.tfstate, it is
    recorded beside the state; returns what the user must know and do ("" when it left none)."""
    local = stack.workdir / ERRORED_STATE
    if not local.is_file():
        return ""
    rec = left(stack, command, origin, now)
    try:
        record(env, stack.name, rec)
        recorded = f"Recorded in {where(env, stack.name)}: every checkout refuses {stack.id} until it is pushed back."
    except BucketError as exc:
        # Most likely for the reason the engine could not save the state (credentials expired, no network).
        recorded = (
            f"It could NOT be recorded in {where(env, stack.name)} ({exc}): a checkout other than this one would "
            f"not know, so push it back before anything else runs on {stack.id}."
        )
    # Under CI the runner's file goes with the job: the artifact is where it stays.
    how = how_to_push(env, stack, rec, None if rec.artifact else local, origin.host)
    return (
        f"{stack.id}: the engine could not save its state at the end of this {command}, and left it in "
        f"{_shown(local)}: the only record of what the run created; the state in the bucket is stale. "
        f"{recorded} {how}"
    )
