"""What every section of an environment file is: strict (a quoted "2" is not a number), closed (a typo is an
error, not a silent default) and frozen."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    # strict: a quoted "2" is not a number; extra=forbid: a typo is an error, not a silent default.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
