"""Every variable the tool reads from its process environment, described once and parsed once.

The command line (shared/cli.py) parses them when a command starts; a command that runs the engine refuses
every bad value at once, before anything runs (exit 2), and any other command is refused only if it reads one
(`Options.checked`): a stray PARALLELISM does not stop `make config`. The code below the command line asks
`current()` and never reads the environment itself. A caller
that is not the command line (a test, the benchmark) gets them parsed from the environment as it is then.
docs/commands.md's table of them is generated from VARIABLES (`make docs`).

Not here, on purpose: the words of consent (CONFIRM, ALLOW_REPLACE, FORCE) and what a command works on, which
count only when typed (shared/typed.py reads the environment only to refuse them); the engine's debug log
(ENGINE_DEBUG, CI, GITHUB_ACTIONS: shared/ops/engine/log.py, parsed at the same moment); the toolchain
(STREAMFLIX_TOOLCHAIN, STREAMFLIX_PLAIN_IMPORT), read by shared/cdk/ when the bindings load, before any
command; and the variables passed through to the engine and AWS's SDK untouched (AWS_*, TF_CLI_CONFIG_FILE).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from shared.errors import UsageError


@dataclass(frozen=True)
class Variable:
    name: str
    field: str  # the Options attribute it sets
    description: str
    default: str = ""  # as the table shows it ("" : unset)


VARIABLES = (
    Variable(
        "PARALLELISM",
        "parallelism",
        "How many stacks plan, drift and outputs work on at once, 1 to 32.",
        "4",
    ),
    Variable(
        "STATE_LOCK_TIMEOUT",
        "state_lock_timeout",
        "Seconds each engine step waits for a stack's state lock held by another run, 0 to 86400.",
        "300",
    ),
    Variable(
        "LOCK_TIMEOUT",
        "lock_timeout",
        "Seconds a command waits for another command of this checkout to release the environment, 0 to 86400 "
        "(0: refuse at once).",
        "0",
    ),
    Variable(
        "TF_BIN",
        "engine_binary",
        "The deploy engine to run: `terraform` or `tofu`, a name on PATH or a path.",
        "terraform, else tofu",
    ),
    Variable(
        "TF_PROVIDER_MIRROR",
        "provider_mirror",
        "A filesystem mirror of providers (as `terraform providers mirror` writes it) to install from, offline.",
    ),
    Variable(
        "TF_PLUGIN_CACHE_DIR",
        "plugin_cache_dir",
        "Where downloaded providers are kept, once per machine.",
        "$XDG_CACHE_HOME/streamflix/terraform-plugins",
    ),
    Variable("XDG_CACHE_HOME", "cache_home", "The user's cache folder, home of the plugin cache.", "~/.cache"),
    Variable(
        "STREAMFLIX_ENVIRONMENTS_DIR",
        "environments_dir",
        "The folder the environment files are read from (a command that changes something says so).",
        "environments/",
    ),
    Variable(
        "STREAMFLIX_RESYNTH",
        "resynthesize",
        "Any value but empty, 0 or false: synthesize even when the stamps say the stacks are up to date.",
    ),
    Variable("STREAMFLIX_CHECKOV", "checkov", "The checkov program `make check` runs.", ".venv/checkov, else PATH"),
    Variable(
        "EMULATOR_USE_CALLER_CREDENTIALS",
        "emulator_caller_credentials",
        "Any value but empty, 0 or false: commands against an emulated environment send the caller's own "
        "credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) instead of the emulator's test "
        "keys, so that a role can be tried against an emulator that enforces IAM. Real environments always do.",
    ),
    Variable(
        "QUIET",
        "quiet",
        "Any value but empty, 0 or false: the engine's own output is not shown (it stays in each stack's "
        "engine-output.log; a failure's tail is still shown); each stack's start and end lines and the summary are.",
    ),
    Variable(
        "VERBOSE",
        "verbose",
        "Any value but empty, 0 or false: also the output of the engine steps that are quiet by default (the init "
        "of read-only work, reading the producers' outputs).",
    ),
    Variable(
        "NO_COLOR",
        "no_color",
        "Set and not empty: no colour in the summary even on a terminal (no-color.org); piped output never has any.",
    ),
    Variable(
        "TERM",
        "dumb_terminal",
        "`dumb`: a terminal that cannot clear a line, so no live progress line on it.",
    ),
    Variable(
        "JSON",
        "json_report",
        "Any value but empty, 0 or false: plan, deploy, destroy, drift and promote print their JSON report on "
        "stdout (an array for several environments), everything else they say on stderr; for scripts.",
    ),
    Variable(
        "GITHUB_STEP_SUMMARY",
        "step_summary",
        "Set by GitHub Actions: the file each command's Markdown report is added to.",
    ),
    Variable(
        "CI",
        "under_ci",
        "`true`, `1` or `yes` (as GitHub Actions and most CI systems set it; `GITHUB_ACTIONS` counts too): a CI "
        "job, whose log and artifacts are shared: the provider pins are read-only, the engine's debug log refused.",
    ),
)


@dataclass(frozen=True)
class Options:
    parallelism: int = 4
    state_lock_timeout: int = 300
    lock_timeout: float = 0.0
    engine_binary: str = ""
    provider_mirror: str = ""
    plugin_cache_dir: str = ""
    cache_home: str = ""
    environments_dir: str = ""
    resynthesize: bool = False
    checkov: str = ""
    emulator_caller_credentials: bool = False
    json_report: bool = False
    quiet: bool = False
    verbose: bool = False
    no_color: bool = False
    dumb_terminal: bool = False
    step_summary: str = ""
    under_ci: bool = False
    problems: tuple[tuple[str, str], ...] = ()  # (variable, what is wrong with its value): its field holds the default

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Options:
        """The options, each bad value kept in `problems` (its field holding the default) for `refuse`/`checked`."""
        problems: list[tuple[str, str]] = []

        def number(name: str, default: str, kind: type, low: float, high: float, words: str):
            value = environ.get(name, "").strip() or default
            try:
                parsed = kind(value)
            except ValueError:
                parsed = None
            if parsed is None or not low <= parsed <= high or (kind is int and not value.isdigit()):
                problems.append((name, f"{name}={value!r}: {words}"))
                return kind(default)
            return parsed

        def flag(name: str) -> bool:  # the project's rule for a switch: any value but empty, 0 or false
            return environ.get(name, "").strip().lower() not in ("", "0", "false")

        options = cls(
            parallelism=number("PARALLELISM", "4", int, 1, 32, "give how many stacks to work on at once, 1 to 32"),
            state_lock_timeout=number(
                "STATE_LOCK_TIMEOUT", "300", int, 0, 86400, "give the seconds to wait for a state lock, 0 to 86400"
            ),
            lock_timeout=number(
                "LOCK_TIMEOUT", "0", float, 0, 86400, "give the seconds to wait for the environment, 0 to 86400"
            ),
            engine_binary=environ.get("TF_BIN", ""),
            provider_mirror=environ.get("TF_PROVIDER_MIRROR", ""),
            plugin_cache_dir=environ.get("TF_PLUGIN_CACHE_DIR", ""),
            cache_home=environ.get("XDG_CACHE_HOME", ""),
            environments_dir=environ.get("STREAMFLIX_ENVIRONMENTS_DIR", ""),
            resynthesize=flag("STREAMFLIX_RESYNTH"),
            checkov=environ.get("STREAMFLIX_CHECKOV", ""),
            emulator_caller_credentials=flag("EMULATOR_USE_CALLER_CREDENTIALS"),
            json_report=flag("JSON"),
            quiet=flag("QUIET"),
            verbose=flag("VERBOSE"),
            no_color=bool(environ.get("NO_COLOR", "")),  # no-color.org: any value but empty
            dumb_terminal=environ.get("TERM", "") == "dumb",
            step_summary=environ.get("GITHUB_STEP_SUMMARY", ""),
            under_ci=under_ci(environ),
            problems=tuple(problems),
        )
        return options

    def refuse(self, names: tuple[str, ...] | None = None) -> None:
        """UsageError naming every bad value (of `names`, else of all), at once; nothing when there is none."""
        said = [text for name, text in self.problems if names is None or name in names]
        if len(said) == 1:
            raise UsageError(f"{said[0]}; nothing was run")
        if said:
            raise UsageError("nothing was run:\n" + "\n".join(f"  - {p}" for p in said))

    def checked(self, field: str):
        """The value of `field`, or UsageError if its variable's value was bad: never a default in its place."""
        self.refuse(tuple(v.name for v in VARIABLES if v.field == field))
        return getattr(self, field)


def under_ci(environ: Mapping[str, str]) -> bool:
    """A CI job (CI=true, as GitHub Actions and most others set it; GITHUB_ACTIONS=true even without CI): its
    log and artifacts are shared."""
    yes = ("true", "1", "yes")
    return environ.get("CI", "").strip().lower() in yes or environ.get("GITHUB_ACTIONS", "").strip().lower() in yes


_CURRENT: Options | None = None


def use(options: Options | None) -> None:
    """What the command line parsed when the command started (None: parse the environment on each ask)."""
    global _CURRENT
    _CURRENT = options


def current() -> Options:
    return _CURRENT if _CURRENT is not None else Options.from_environment(os.environ)
