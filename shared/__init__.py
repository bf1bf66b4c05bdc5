"""The library the StreamFlix stacks and operational tools share."""
