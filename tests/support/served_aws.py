"""moto_server as AWS for commands run as subprocesses: their environment and a client of it."""

from __future__ import annotations

import os

MOTO_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def served_aws_env(url: str) -> dict[str, str]:
    """The environment of a command started as a user starts it, with moto_server at `url` as AWS:
    dummy keys only (no profile or session token of the machine's), and not a sub-make of `make test`."""
    env = dict(os.environ, AWS_ENDPOINT_URL=url, AWS_DEFAULT_REGION="us-east-1", **MOTO_CREDENTIALS)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "MAKELEVEL", "MAKEFLAGS", "MFLAGS"):
        env.pop(name, None)
    return env


def served_aws_client(url: str, service: str):
    """A boto3 client of moto_server at `url`, with the dummy keys."""
    import boto3

    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=MOTO_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=MOTO_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
