"""`make bench`: wall time of a full synthesis of every environment, fast provider import vs plain import.

Each run is a fresh process (the import cost is paid once per process, so that is what users feel).
Prints numbers; never fails on them. The target is a ratio at or below 0.35.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

TARGET_RATIO = 0.35


def _time_synth(plain: bool, outdir: str) -> float:
    env = dict(os.environ, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20")
    env["STREAMFLIX_PLAIN_IMPORT"] = "1" if plain else "0"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "shared.cli", "synth", "--outdir", outdir],
                   check=True, env=env, stdout=subprocess.DEVNULL)  # fmt: skip
    return time.perf_counter() - start


def run(repeats: int = 3) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cdktf.out")
        _time_synth(False, out)  # warm the byte-code caches so neither side pays for compiling
        fast = [_time_synth(False, out) for _ in range(repeats)]
        plain = [_time_synth(True, out) for _ in range(repeats)]
    f, p = statistics.median(fast), statistics.median(plain)
    print(f"full synthesis of every environment, median of {repeats} fresh processes:")
    print(f"  fast import  {f:7.2f} s   (runs: {', '.join(f'{t:.2f}' for t in fast)})")
    print(f"  plain import {p:7.2f} s   (runs: {', '.join(f'{t:.2f}' for t in plain)})")
    verdict = "meets" if f / p <= TARGET_RATIO else "misses"
    print(f"  ratio        {f / p:7.2f}     ({verdict} the target of {TARGET_RATIO})")
    return 0
