"""Every regular expression a config value must match, each written once with the words its message uses.

A schema field takes `pattern=X.regex`; a value that does not match is reported as "must be <X.words>",
so the pattern and its message can never drift apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Pattern:
    regex: str
    words: str  # what the pattern means, in the user's terms rather than as a regular expression


SUFFIX = Pattern(
    r"^[a-z][a-z0-9-]{0,18}[a-z0-9]$|^[a-z]$",
    "1-20 lowercase letters, digits and single hyphens, starting with a letter and not ending with a hyphen",
)
PROJECT = Pattern(
    r"^[a-z][a-z0-9-]{1,15}$", "2-16 lowercase letters, digits and single hyphens, starting with a letter"
)
REGION = Pattern(r"^[a-z]{2}(-gov)?-[a-z]+-\d$", "an AWS region name such as us-east-1")
ACCOUNT_ID = Pattern(r"^\d{12}$", "a 12-digit AWS account id")
ENDPOINT = Pattern(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?/?$", "a base URL such as http://127.0.0.1:4566 (no path)")
PROVIDER_VERSION = Pattern(r"^\d+\.\d+\.\d+$", "a version such as 5.100.0")
BUCKET = Pattern(
    r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", "an S3 bucket name: 3-63 lowercase letters, digits, '.' and '-'"
)
KEY_PREFIX = Pattern(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$", "a key prefix such as streamflix or team/streamflix")
ENGINE_VERSION = Pattern(r"^\d+\.\d+$", "a major.minor version such as 16.4")
DATABASE_NAME = Pattern(r"^[a-z][a-z0-9_]{0,62}$", "lowercase letters, digits and '_', starting with a letter")
DATABASE_USER = Pattern(r"^[a-z][a-z0-9_]{0,15}$", "1-16 lowercase letters, digits and '_', starting with a letter")
# No braces either: the engine would read ${ or %{ in an address as its own template.
EMAIL = Pattern(r"^[^@\s{}]+@[^@\s{}]+\.[^@\s{}]+$", "an e-mail address (without braces)")
# No braces: a URL has them only percent-encoded, and the engine would read ${ or %{ as its own template.
HTTPS_URL = Pattern(r"^https://[^\s/{}]+(/[^\s{}]*)?$", "an https:// URL (braces percent-encoded)")
# What EC2 takes in a security group rule's description: the reason a path stays open is written there.
RULE_DESCRIPTION = Pattern(
    r"^[A-Za-z0-9. _:/()#,@\[\]+=&;!*-]{1,200}$",
    "1-200 letters, digits, spaces and . _ - : / ( ) # , @ [ ] + = & ; ! * (what EC2 takes in a rule's "
    "description, without quotes, and without $ { } that the engine would read as its own)",
)
# GitHub's rules for owner and repository names: what a workflow's OIDC `sub` claim spells after `repo:`.
GITHUB_REPOSITORY = Pattern(
    r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$", "a GitHub repository as owner/name"
)
# AWS Backup's schedule: a cron() expression (six fields, UTC); AWS checks the fields themselves.
BACKUP_SCHEDULE = Pattern(r"^cron\([0-9*?/,LW#A-Z -]+\)$", "a cron() expression such as cron(0 5 ? * * *)")

ALL = (
    BACKUP_SCHEDULE,
    SUFFIX,
    PROJECT,
    REGION,
    ACCOUNT_ID,
    ENDPOINT,
    PROVIDER_VERSION,
    BUCKET,
    KEY_PREFIX,
    ENGINE_VERSION,
    DATABASE_NAME,
    DATABASE_USER,
    EMAIL,
    HTTPS_URL,
    RULE_DESCRIPTION,
    GITHUB_REPOSITORY,
)
_WORDS = {p.regex: p.words for p in ALL}

# An environment's name: its file's stem (not a value in the file, so not a field pattern).
NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
_SUFFIX = re.compile(SUFFIX.regex)


def words(regex: str) -> str:
    """What a field's pattern means (every field pattern is one of ALL: a test walks the schema)."""
    return _WORDS[regex]


def suffix_problem(value: str) -> str | None:
    """Why `value` cannot be an environment suffix (it names RDS identifiers: no '--'), or None."""
    if not _SUFFIX.match(value) or "--" in value:
        return f"must be {SUFFIX.words}"
    return None
