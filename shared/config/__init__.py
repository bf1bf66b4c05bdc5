"""Typed, validated per-environment configuration: YAML in, a frozen object out, or every problem at once.

Defaults live in the schema, once; an environment file (`environments/<env>.yaml`) states only what
differs from them. The package, by concept:

- patterns.py  every regular expression a value must match, each with the words its message uses
- section.py   what every section is: strict, closed, frozen
- location.py  aws (account, region, an emulator) and state (the bucket and its keys)
- network.py, data.py, compute.py, observability.py
               the sections, each with its descriptions, defaults and own rules
- usage.py     what the cost estimate assumes about traffic (records/s, log GB, ...): read by shared/cost/ only
- schema.py    the environment that holds the sections
- rules.py     rules across sections, one function each
- source.py    reading a file defensively (size, UTF-8, aliases, duplicates, lines)
- problems.py  the error that carries every problem, and pydantic's errors in the user's terms
- loader.py    load_environment / load_environments: file to EnvironmentConfig
"""

from shared.config.data import AuroraConfig
from shared.config.loader import (
    PROMOTION_ORDER,
    SET_BY_THE_LOADER,
    available_environments,
    environments_dir,
    load_environment,
    load_environments,
)
from shared.config.location import ACCESS_LOG_SUFFIX
from shared.config.problems import ConfigError
from shared.config.schema import EnvironmentConfig

__all__ = [
    "ACCESS_LOG_SUFFIX",
    "PROMOTION_ORDER",
    "SET_BY_THE_LOADER",
    "AuroraConfig",
    "ConfigError",
    "EnvironmentConfig",
    "available_environments",
    "environments_dir",
    "load_environment",
    "load_environments",
]
