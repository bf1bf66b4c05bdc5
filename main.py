"""The cdktf app (cdktf.json "app"): synthesizes the environment named by ENV, or all of them.

`make synth` is the everyday way in; this entry point keeps `cdktf synth` working too.
"""

import os
import sys

from shared.cli import main

if __name__ == "__main__":
    argv = ["synth"]
    if os.environ.get("ENV"):
        argv += ["--env", os.environ["ENV"]]
    if os.environ.get("SUFFIX"):
        argv += ["--suffix", os.environ["SUFFIX"]]
    argv += ["--outdir", os.environ.get("CDKTF_OUTDIR", "cdktf.out")]
    sys.exit(main(argv))
