"""The deploy engine, `terraform` or OpenTofu's `tofu`, as the runner uses it. By concept:

- discovery.py         which engine runs (TF_BIN, PATH) and whether its version is new enough
- process.py           one run: its environment, its output followed from a file, its exit; who watches runs
- interrupts.py        SIGINT, SIGTERM and SIGHUP passed on as one graceful stop, so that state is saved
- console.py           the tool's and the engine's lines on the console, or one block per stack
- log.py               what the engine may log, and where (its debug log holds secrets)
- providers.py         where providers come from: the user's CLI configuration, a mirror, the plugin cache
- provider_install.py  why a provider could not be installed, in one message
- provider_pins.py     the committed lock file of provider builds
- workdir.py           a stack's working directory: the engine steps run in it and its initialization
"""
