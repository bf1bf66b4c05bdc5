"""Operating deployed environments: the engine, deploy orchestration, promotion, smoke checks,
release records, errored states, state bootstrap and the emulator."""
