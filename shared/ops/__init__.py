"""Operating deployed environments, in packages by role. Each opens with its own map:

- commands/      one module per command of the Makefile (deploy, promote, bootstrap, smoke, ...): what the
                 user asked for, handed to the runner or to the state bucket; nothing else
- runner/        the work over an environment's stacks: selection and order, consent and the data guard,
                 the environment lock, the per-stack loop, each stack's outcome and the reports
- engine/        the deploy engine: discovery and version, the process and its interrupts, console output,
                 providers (installation, pins, mirror), a stack's working directory
- state_bucket/  what lives in an environment's state bucket beside its states: the key layout, fingerprints,
                 release records, state locks, protection and errored-state records, and the bootstrap
- aws.py         sessions and credentials for all of them

Layers (tests/test_imports.py checks them): a command may use everything below it; the runner never imports a
command; the engine imports nothing of the runner or the commands; the state bucket nothing of either.
Exit codes are decided only in shared/cli.py: everything here raises (shared/errors.py).
"""
