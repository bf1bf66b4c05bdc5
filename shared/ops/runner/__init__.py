"""The work over an environment's stacks, for every command that runs the engine. By concept:

- preparation.py       what must hold before the engine touches anything (engine, consent, credentials, lock,
                       synthesis, providers), and the environment as its state location records it
- selection.py         the stacks in dependency order, a STACK= selection, how many run side by side
- confirm.py           the words of consent a protected deploy, any destroy, or a widening plan needs
- guard.py             the data guard: no plan that destroys or weakens something precious is applied unnamed
- widening.py          what a plan widens of IAM and network access (a deploy applies it only with a yes)
- openings.py          what security group rules open, and whether a plan opens more (widening's network half)
- review.py            plan before consent: what a yes approves was shown, and is what is applied
- environment_lock.py  one command per environment per checkout
- steps.py             the engine steps of one stack: plan (a frozen Plan), apply, outputs, snapshot key
- fingerprinting.py    a stack's fingerprint now, to skip what nothing changed
- speculative.py       plans of stacks whose producers are not deployed yet
- images.py            the worker image's tag resolved to a digest
- database_user.py     after the data stack, the workers' database user made through the RDS Data API
- job.py               one command over the chosen stacks: what each step needs
- actions.py           each command's step for one stack, and how each command ends
- run.py               the loop: every stack through its action, the outcome of each, the report, the end
- outcome.py           what happened to each stack, and the report of it (summary, JSON, Markdown)
- outputs.py           the stacks' outputs, written to outputs/<env>.json
"""
