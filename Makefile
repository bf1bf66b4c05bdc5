# StreamFlix pipeline infrastructure: the commands platform engineers use every day.
# Every target installs the project first when pyproject.toml changed, so nobody has to
# remember `make install`.  Run `make help` for the list.

# Recipes and $(shell) run in bash as written; no definition from the command line or MAKEFLAGS changes that.
override SHELL := /bin/bash
override .SHELLFLAGS := -c
.DEFAULT_GOAL := help

PYTHON ?= python3
# The CDK toolchain: cdktf (CDK for Terraform, the default) or cdktn (CDK Terrain, its maintained
# fork), each in a virtual environment of its own so that the two never mix. Taken unexpanded.
TOOLCHAINS := cdktf cdktn
TOOLCHAIN_NAME := $(or $(strip $(value TOOLCHAIN)),cdktf)
ifneq ($(words $(TOOLCHAIN_NAME))$(filter $(TOOLCHAIN_NAME),$(TOOLCHAINS)),1$(TOOLCHAIN_NAME))
$(error TOOLCHAIN='$(subst ','\'',$(value TOOLCHAIN))': one of $(TOOLCHAINS))
endif
OTHER_TOOLCHAIN := $(filter-out $(TOOLCHAIN_NAME),$(TOOLCHAINS))
# `override` on what builds the command lines below: neither `make -e` nor a definition on the command line
# or in MAKEFLAGS may replace them (the words of consent would otherwise arrive through them).
override venv_of = $(if $(filter cdktn,$(1)),.venv-cdktn,.venv)
override VENV := $(call venv_of,$(TOOLCHAIN_NAME))
override PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The other toolchain, installed for synthesis only: the equivalence test of `make test` uses it.
OTHER_VENV := $(call venv_of,$(OTHER_TOOLCHAIN))
OTHER_STAMP := $(OTHER_VENV)/.installed-for-synthesis
# Checkov pins packaging<24 and an old boto3, which clash with pytest 9 and moto, so it
# lives in its own virtual environment inside .venv (one folder to delete, one to ignore).
CHECKOV_VERSION := 3.3.30
CHECKOV_VENV := $(VENV)/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)

# The jsii runtime warns on every start that Node 20 is end-of-life; Node 20 is what these
# machines have.  Silence that one warning, nothing else.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20


# Each variable reaches the command line as exactly one argument, whatever it holds: taken unexpanded
# ($(value)), single-quoted for the shell, and only for the commands that take it. They are not
# exported: make would expand a value such as $(shell ...) to put it into the recipe's environment.
unexport ENV SUFFIX STACK FROM TO CONFIRM ALLOW_REPLACE LOCK_ID FILE TOOLCHAIN FORCE NAME REGION
override quote = '$(subst ','\'',$(1))'
override opt = $(if $(strip $(value $(1))),--$(2) $(call quote,$(value $(1))))
override ENV_ARGS = $(call opt,ENV,env) $(call opt,SUFFIX,suffix)
override ENGINE_ARGS = $(ENV_ARGS) $(call opt,STACK,stack) $(call opt,CONFIRM,confirm)
# FORCE=1 (any value but empty or 0): plan every stack, whatever its fingerprint says.
# Commands with a default environment (local, the emulator, the pins) take ENV only when it is typed: a
# shell's ENV is usually its rc file, not a wish to work on another environment.
override typed_env_or = $(if $(call typed,ENV),$(call opt,ENV,env),$(1))
override FORCE_ARG = $(if $(filter-out 0,$(strip $(value FORCE))),--force)

# Words of consent (CONFIRM, ALLOW_REPLACE, FORCE), and what a command that changes something works on,
# count only when typed on make's command line: the command line behind the targets refuses the others,
# exit 2 (shared/cli.py). It learns where they came from in STREAMFLIX_NOT_TYPED, NAME=<where> for each
# with a value that make did not get from its command line: $(origin) (the shell's environment, also under
# `make -e`; a makefile of MAKEFILES, -f or --eval), spaces as dashes. make calls a definition in a MAKEFLAGS
# or GNUMAKEFLAGS of its environment (the shell's, or a make that runs this one) `command line` too: that
# environment, as make got it, is read from /proc/<make>/environ where there is one, else from $(shell)'s,
# which is make's own before make 4.4; such a definition is `makeflags`. (make 4.4 or later without /proc,
# as on macOS with Homebrew's gmake, cannot tell it from a typed one.)
override TYPED_ONLY := ENV SUFFIX STACK FROM TO LOCK_ID FILE CONFIRM ALLOW_REPLACE FORCE
ifneq ($(wildcard /proc/self/environ),)
override make_environment_flags = $(shell tr '\n\0' ' \n' </proc/$$PPID/environ | sed -n 's/^\(GNU\)\{0,1\}MAKEFLAGS=//p')
else ifneq ($(filter 3.% 4.0% 4.1% 4.2% 4.3%,$(MAKE_VERSION)),)
override make_environment_flags = $(shell printenv MAKEFLAGS; printenv GNUMAKEFLAGS)
endif
# make takes `NA\ME=x`, `NAME\ =x`, `NAME:=x` and `override NAME=x` there as definitions of NAME.
override defines = $(filter $(1) $(1)=% $(1):% $(1)+% $(1)?% $(1)!%,$(subst \,,$(2)))
override space := $(subst ,, )
# Where /proc tells make's own arguments, a `command line` variable is typed only when one of them defines it:
# a definition that make's expansion or a makefile made (MAKEFLAGS='CONF$$()IRM=x', MAKEFILES appending to
# MAKEFLAGS) is not among them, whatever its spelling. Elsewhere, the text of the MAKEFLAGS make started with.
# One name per argument that defines a variable (read per argument: a value holding `NAME=x` defines nothing
# more); `make` itself first, so the list is never empty where /proc tells it.
ifneq ($(wildcard /proc/self/cmdline),)
override make_argv := make $(shell tr '\n\0' ' \n' </proc/$$PPID/cmdline | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)[:+?!]*=.*/\1/p')
endif
override came_from = $(if $(filter command line,$(origin $(1))),$(if $(make_argv),$(if $(filter $(1),$(make_argv)),,makeflags),$(if $(call defines,$(1),$(2)),makeflags)),$(subst $(space),-,$(origin $(1))))
override not_typed = $(strip $(foreach v,$(TYPED_ONLY),$(if $(strip $(value $(v))),$(addprefix $(v)=,$(call came_from,$(v),$(1))))))
override CLI = STREAMFLIX_NOT_TYPED=$(call quote,$(call not_typed,$(make_environment_flags))) $(PY) -m shared.cli
# Typed: with a value, and from make's command line alone. A target with a default environment passes ENV only
# when typed (else its default), so the CLI is not told of an ENV it was never given.
override typed = $(and $(strip $(value $(1))),$(if $(call came_from,$(1),$(make_environment_flags)),,typed))
override CLI_DEFAULT_ENV = STREAMFLIX_NOT_TYPED=$(call quote,$(filter-out ENV=%,$(call not_typed,$(make_environment_flags)))) $(PY) -m shared.cli

.PHONY: help install config synth check cost prices test lint docs bench plan deploy destroy outputs drift status \
        bootstrap smoke releases promote unlock unprotect local local-down push-state emulator emulator-stop e2e providers-lock equivalence clean

help: ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[$(TOOLCHAIN_NAME),dev]'
	@touch $@

$(OTHER_STAMP): pyproject.toml
	@test -x $(OTHER_VENV)/bin/python || $(PYTHON) -m venv $(OTHER_VENV)
	$(OTHER_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(OTHER_VENV)/bin/python -m pip install --quiet -e '.[$(OTHER_TOOLCHAIN)]'
	@touch $@

$(CHECKOV_STAMP):
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet checkov==$(CHECKOV_VERSION)
	@rm -f $(CHECKOV_VENV)/.installed-* && touch $@

install: $(STAMP) $(CHECKOV_STAMP) ## Create .venv and install everything (no-op when nothing changed)

config: $(STAMP) ## Print the resolved config: ENV=<env> [SUFFIX=<suffix>]
	@$(CLI) config $(ENV_ARGS)

synth: $(STAMP) ## Synthesize to cdktf.out/: ENV=<env> (all environments without ENV)
	@$(CLI) synth $(ENV_ARGS)

check: $(STAMP) $(CHECKOV_STAMP) ## Synthesize and scan with checkov: [ENV=<env>]
	@$(CLI) check $(ENV_ARGS)

cost: $(STAMP) ## Monthly estimate per stack and line item, offline; writes reports/<env>-cost.json and .md: [ENV=<env>, else every environment]
	@$(CLI) cost $(ENV_ARGS)

prices: $(STAMP) ## Refresh shared/cost/prices/ from the AWS Price List API (needs credentials; unchanged without): [REGION=<region>]
	@$(CLI) prices $(call opt,REGION,region)

test: install $(OTHER_STAMP) ## Run the whole test suite (no cloud needed; the real-engine test runs where terraform is)
	$(PY) -m pytest -n auto --dist loadgroup $(PYTEST_ARGS)

e2e: install ## The real engine against the emulator, end to end (the `e2e` part of make test): [TOOLCHAIN=cdktn]
	$(PY) -m pytest -m e2e $(PYTEST_ARGS)

equivalence: install $(OTHER_STAMP) ## Show that cdktf and cdktn synthesize the same stacks (only the listed differences)
	$(PY) -m pytest -p no:cacheprovider tests/shared/cdk/test_equivalence.py $(PYTEST_ARGS)

docs: $(STAMP) ## Write the generated tables of docs/ (config keys, make targets) from the code
	@$(CLI) docs

lint: $(STAMP) ## Lint and check formatting with ruff
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: $(STAMP) $(OTHER_STAMP) ## Print timings: synthesis on both toolchains, fast vs plain import, plan of local, the suite
	@$(CLI) bench

plan: $(STAMP) ## Plan, stacks side by side (PARALLELISM=4): [ENV=<env>, else every environment] [STACK=a,b]
	@$(CLI) plan $(ENGINE_ARGS)

deploy: $(STAMP) ## Deploy what changed, in dependency order: ENV=<env> [STACK=a,b] [CONFIRM=<env>] [ALLOW_REPLACE=<stack>:<address>,...] [FORCE=1]
	@$(CLI) deploy $(ENGINE_ARGS) $(call opt,ALLOW_REPLACE,allow-replace) $(FORCE_ARG)

destroy: $(STAMP) ## Destroy in reverse order: ENV=<env> CONFIRM=<env> [STACK=a,b]
	@$(CLI) destroy $(ENGINE_ARGS)

# NAME= only from make's command line: shells set NAME for their own reasons (the host's name, on some). Typed
# empty (NAME=$$unset in a script) it is passed as it is, and refused, rather than printing every output.
outputs: $(STAMP) ## Write every stack's outputs to outputs/<env>.json, or print one: ENV=<env> [NAME=<stack>.<output>]
	@$(CLI) outputs $(ENV_ARGS) $(if $(filter command line,$(origin NAME)),--name $(call quote,$(value NAME)))

drift: $(STAMP) ## List stacks whose infrastructure differs from the code: [ENV=<env>, else every environment]
	@$(CLI) drift $(ENV_ARGS)

bootstrap: $(STAMP) ## Create the environment's state bucket, CI roles and permissions boundary, idempotently: ENV=<env>
	@$(CLI) bootstrap $(ENV_ARGS)

smoke: $(STAMP) ## Check the deployed pipeline through the AWS APIs: ENV=<env>
	@$(CLI) smoke $(ENV_ARGS)

releases: $(STAMP) ## Show which revision runs in which environment: [ENV=<env>, with its history]
	@$(CLI) releases $(ENV_ARGS)

status: $(STAMP) ## Each stack: what it depends on, its last apply, and what changed since: ENV=<env>
	@$(CLI) status $(ENV_ARGS)

promote: $(STAMP) ## Promote one step forward behind gates: FROM=<env> TO=<env> [CONFIRM=prod] [ALLOW_REPLACE=...] [FORCE=1]
	@$(CLI) promote $(call opt,FROM,from) $(call opt,TO,to) $(call opt,CONFIRM,confirm) $(call opt,ALLOW_REPLACE,allow-replace) $(FORCE_ARG)

unprotect: $(STAMP) ## Lift the protection recorded beside an environment's state (never prod): ENV=<env> CONFIRM=<suffix>
	@$(CLI) unprotect $(ENV_ARGS) $(call opt,CONFIRM,confirm)

unlock: $(STAMP) ## Release a stack's stale state lock: ENV=<env> STACK=<stack> LOCK_ID=<id> [CONFIRM=<env>]
	@$(CLI) unlock $(ENV_ARGS) $(call opt,STACK,stack) $(call opt,LOCK_ID,lock-id) $(call opt,CONFIRM,confirm)

push-state: $(STAMP) ## Push back a stack's state the engine could not save: ENV=<env> STACK=<stack> FILE=<errored.tfstate> [LOCK_ID=<id>] [CONFIRM=<env>]
	@$(CLI) push-state $(ENV_ARGS) $(call opt,STACK,stack) $(call opt,FILE,file) $(call opt,LOCK_ID,lock-id) $(call opt,CONFIRM,confirm)

providers-lock: $(STAMP) ## Pin every provider for linux/darwin, amd64/arm64 in the lock file: [ENV=dev]
	@$(CLI_DEFAULT_ENV) providers-lock $(call typed_env_or,--env dev)

local: $(STAMP) ## The whole pipeline on this machine: emulator, bootstrap, deploy by the real engine, smoke: [ENV=local]
	@$(CLI_DEFAULT_ENV) local $(call typed_env_or,--env local)

local-down: $(STAMP) ## Destroy the local pipeline and stop its emulator: [ENV=local]
	@$(CLI_DEFAULT_ENV) local-down $(call typed_env_or,--env local)

emulator: $(STAMP) ## Start moto_server for the local environment at its aws.endpoint: [ENV=local]
	@$(CLI_DEFAULT_ENV) emulator $(call typed_env_or,--env local)

emulator-stop: $(STAMP) ## Stop the emulator that make emulator started: [ENV=local]
	@$(CLI_DEFAULT_ENV) emulator $(call typed_env_or,--env local) --stop

# An errored.tfstate is the only record of what a run created that the engine could not save: never removed here.
clean: ## Remove generated output (cdktf.out, outputs, reports); keeps .venv, and refuses while an errored.tfstate is there
	@left="$$(ls cdktf.out/stacks/*/errored.tfstate 2>/dev/null)"; if [ -n "$$left" ]; then \
	  echo "error: not removing cdktf.out: it holds the only record of what a run created that the engine could" \
	    "not save: $$(echo $$left). Push it back first: make push-state ENV=<env> STACK=<stack> FILE=<that file>" >&2; \
	  exit 2; fi
	rm -rf cdktf.out cdktf.out.* outputs reports .pytest_cache
