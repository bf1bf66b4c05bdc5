"""Operating deployed environments: the engine, deploy orchestration, promotion, smoke checks,
release records, state bootstrap and the emulator."""
