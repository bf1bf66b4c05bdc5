"""Constructs the stacks share, one per AWS concept."""
