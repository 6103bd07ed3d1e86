"""One `replace` for befriend's two kinds of record.

Most of the core's records are msgspec Structs: a frozen dataclass costs about 0.5 ms to
define (its methods are generated as source and compiled, one `exec` each, before Python
3.13), a Struct a fiftieth of that, and the API's cold start defines about a hundred of
them (docs/benchmarks.md, Cold start). The few that need what a Struct lacks (a field
left out of comparison and repr, such as `Playbook.translated` or a secret in `Settings`)
stay dataclasses. Callers change a field the same way whichever a record is.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

import msgspec

R = TypeVar("R")


def replace(record: R, /, **changes: Any) -> R:
    """A copy of the frozen `record` (a Struct or a dataclass) with `changes` made."""
    if isinstance(record, msgspec.Struct):
        return msgspec.structs.replace(record, **changes)
    return dataclasses.replace(record, **changes)  # type: ignore[type-var]
