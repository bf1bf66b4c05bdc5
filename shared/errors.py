"""The two kinds of failure the tools report, mapped to exit codes by the CLI."""


class UsageError(Exception):
    """Bad usage or a missing prerequisite (engine, credentials, confirmation): exit code 2."""


class OperationFailed(Exception):
    """An operation ran and failed (engine error, failed gate, drift where none is allowed): exit code 1."""
