"""Routes whose URL builders are compiled the first time a URL is built from them.

Werkzeug compiles two URL builders (Python source, then `compile`) for every route when a
rule is added, which is most of the time building the app takes, so of the API's cold
start (docs/benchmarks.md, Cold start). The API builds URLs from two routes only (the next
pages of audiences and tasks); every other builder would be compiled for nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from werkzeug.routing import Rule


class LazyRule(Rule):
    """A werkzeug `Rule` that matches as soon as it is added and builds URLs as one does,
    its builder compiled on its first use."""

    def _compile_builder(self, append_unknown: bool = True) -> Callable[..., tuple[str, str]]:
        make = super()._compile_builder
        compiled: list[Callable[..., tuple[str, str]]] = []

        def build(rule: Rule, *args: Any, **kwargs: Any) -> tuple[str, str]:
            if not compiled:
                compiled.append(make(append_unknown).__get__(rule, None))
            return compiled[0](*args, **kwargs)

        return build
