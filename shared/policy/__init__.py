"""Security policy: the checkov scan of the synthesized stacks and the skips it allows."""
