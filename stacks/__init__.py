"""The pipeline stacks, one module each: network, data, compute, monitoring."""
