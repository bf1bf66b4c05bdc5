"""AWS sessions for the operational tools, and a credentials check that explains itself."""

from __future__ import annotations

import contextlib
import copy
import functools
import threading
import urllib.parse
from collections.abc import Iterator

import boto3
import botocore.handlers
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, PartialCredentialsError
from botocore.hooks import HierarchicalEmitter
from botocore.loaders import Loader, create_loader

from shared.config import EnvironmentConfig
from shared.errors import UsageError
from shared.options import current

_RETRIES = Config(retries={"max_attempts": 5, "mode": "standard"})
# An endpoint on this machine is an emulator: what it answers is its answer, not a fault of the network on
# the way, and retrying it only delays the message (an unsupported API's 500 took a second of backoff).
_NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})
_LOOPBACK = ("127.0.0.1", "localhost", "::1")

# What an emulator accepts; an emulator environment is never handed the user's real credentials.
EMULATOR_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
# Variables that would otherwise override or add to the emulator's credentials.
_REAL_CREDENTIAL_VARIABLES = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


def _emulator_keys(env: EnvironmentConfig | None) -> bool:
    """Whether `env` gets the emulator's test keys: an emulated one, unless the caller asked to send its own."""
    return env is not None and env.emulated and not current().emulator_caller_credentials


def engine_environment(env: EnvironmentConfig) -> dict[str, str | None]:
    """Variables the engine needs for `env` (None: remove the variable)."""
    if not _emulator_keys(env):
        return {}
    return {**EMULATOR_CREDENTIALS, **dict.fromkeys(_REAL_CREDENTIAL_VARIABLES)}


@functools.cache
def _loader() -> Loader:
    return create_loader()


_HANDLERS: dict[tuple, HierarchicalEmitter] = {}
_HANDLERS_LOCK = threading.Lock()


def _builtin_handlers() -> HierarchicalEmitter:
    """botocore's built-in event handlers, registered once and copied into each new session (as botocore
    copies a session's into each client): registering them is most of what a session costs (~16 ms).
    Keyed by the list itself, as a library may add to it when it is imported (moto does)."""
    key = tuple(botocore.handlers.BUILTIN_HANDLERS)
    with _HANDLERS_LOCK:
        if key not in _HANDLERS:
            emitter = HierarchicalEmitter()
            botocore.session.Session(event_hooks=emitter)  # registers the built-in handlers into emitter
            _HANDLERS[key] = emitter
        return copy.copy(_HANDLERS[key])


def new_session(env: EnvironmentConfig | None = None) -> boto3.session.Session:
    """A fresh session (credentials resolved anew) sharing one cache of AWS's service models and one
    registration of botocore's handlers, the slow parts of making a session. An emulator environment
    gets the emulator's credentials."""
    core = botocore.session.Session(event_hooks=_builtin_handlers(), include_builtin_handlers=False)
    core.register_component("data_loader", _loader())
    if _emulator_keys(env):
        return boto3.session.Session(
            botocore_session=core,
            aws_access_key_id=EMULATOR_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=EMULATOR_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
    return boto3.session.Session(botocore_session=core)


# The clients of the command running now, by what makes them differ; None outside a command (each call
# then makes its own). Making a client costs 10-30 ms of botocore's setup, and a deploy asks for the state
# bucket's dozens of times; boto3's clients are safe to share between threads.
_COMMAND_CLIENTS: dict[tuple, object] | None = None
_COMMAND_LOCK = threading.Lock()


@contextlib.contextmanager
def one_command() -> Iterator[None]:
    """Within it, `client()` makes each client once: one command resolves its credentials once. Reentrant: an
    inner scope (a runner inside a command) shares the outer one's clients."""
    global _COMMAND_CLIENTS
    if _COMMAND_CLIENTS is not None:
        yield
        return
    _COMMAND_CLIENTS = {}
    try:
        yield
    finally:
        _COMMAND_CLIENTS = None


def client(
    service: str, env: EnvironmentConfig, region: str | None = None, session: boto3.session.Session | None = None
):
    """A boto3 client in the environment's region; at aws.endpoint for an emulator environment
    (otherwise AWS_ENDPOINT_URL, if set, points it elsewhere). Within `one_command()`, made once."""
    region = region or env.aws.region
    if session is not None or _COMMAND_CLIENTS is None:
        return _make(service, env, region, session or new_session(env))
    key = (service, region, env.emulated, env.aws.endpoint if env.emulated else None)
    with _COMMAND_LOCK:
        if key not in _COMMAND_CLIENTS:
            _COMMAND_CLIENTS[key] = _make(service, env, region, new_session(env))
        return _COMMAND_CLIENTS[key]


def _make(service: str, env: EnvironmentConfig, region: str, session: boto3.session.Session):
    endpoint = {"endpoint_url": env.aws.endpoint} if env.emulated else {}
    made = session.client(service, region_name=region, config=_RETRIES, **endpoint)
    if urllib.parse.urlsplit(made.meta.endpoint_url).hostname in _LOOPBACK:  # AWS_ENDPOINT_URL may point here too
        made = session.client(service, region_name=region, config=_NO_RETRIES, **endpoint)
    return made


class NoCredentials(UsageError):
    """This machine has no AWS credentials at all (as opposed to rejected or unreachable ones)."""


class EmulatorDown(UsageError):
    """An emulator environment's emulator does not answer (it is not running): nothing of it can be read."""


def check_credentials(env: EnvironmentConfig) -> dict:
    """Ask STS who we are; turn every way that can fail into one clear sentence (exit code 2)."""
    try:
        identity = client("sts", env).get_caller_identity()
    except (NoCredentialsError, PartialCredentialsError):
        raise NoCredentials(
            "no AWS credentials found: set AWS_PROFILE (after `aws sso login`) or "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, then run the command again"
        ) from None
    except ClientError as exc:
        err = exc.response.get("Error", {})
        raise UsageError(
            f"AWS rejected the credentials ({err.get('Code', 'error')}: {err.get('Message', exc)}); "
            "refresh them (`aws sso login`, or new access keys) and run the command again"
        ) from None
    except BotoCoreError as exc:
        if env.emulated:
            raise EmulatorDown(
                f"the emulator of {env.name} does not answer at {env.aws.endpoint} ({exc}): start it with "
                f"`make emulator ENV={env.name}` and run the command again; nothing was done"
            ) from None
        raise UsageError(f"could not reach AWS to check the credentials: {exc}") from None
    expected = env.aws.account_id
    if expected and identity["Account"] != expected:
        raise UsageError(
            f"these credentials are for account {identity['Account']}, but {env.name} lives in "
            f"account {expected} (aws.account_id); switch profile and run the command again"
        )
    return identity
