"""Where things are: the one home of the repository's paths (light to import: nothing but pathlib)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the checkout
ENVIRONMENTS_DIR = ROOT / "environments"
# Relative to the working directory, as every command runs from the checkout (make does).
OUTPUTS_DIR = Path("outputs")  # outputs/<env>.json, written by deploy and outputs, read by smoke
REPORTS_DIR = Path("reports")  # reports/<suffix>-<command>.json and .md
# checkov lives in a virtual environment of its own inside the running one (its pins clash with ours);
# `make install` puts it there for whichever toolchain's environment runs this.
CHECKOV = Path(sys.prefix) / "checkov" / "bin" / "checkov"
