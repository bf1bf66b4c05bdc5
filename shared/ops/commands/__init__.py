"""One module per command of the Makefile that works on a deployed environment: what the user asked for,
handed to the runner (shared/ops/runner/) or the state bucket (shared/ops/state_bucket/). Nothing here decides
an exit code: shared/cli.py maps what a command raises.

- plan.py, deploy.py, destroy.py, drift.py, outputs.py   the stack-by-stack commands, through the runner
- promote.py         one step forward behind gates (clean tree, what runs, no drift, smoke), then a deploy
- bootstrap.py       the state bucket, said property by property
- smoke.py           the deployed pipeline checked through the AWS APIs
- releases.py        which revision runs where (with ENV, what ran before), and the protections recorded
- status.py          each stack's producers, last apply and what changed since, from its fingerprint
- unlock.py          a stale state lock released
- push_state.py      a state the engine could not save, pushed back
- unprotect.py       a recorded protection lifted (never prod)
- providers_lock.py  every provider pinned for every platform
- emulator.py        moto_server for an emulator environment
- local.py           the whole pipeline on this machine, and gone again
"""
