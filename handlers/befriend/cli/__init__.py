"""The `befriend` command: each module adds its commands to the one group as it is imported.

Heavy modules (boto3, moto, the app) are imported inside the commands that need them, so
`befriend --help` and option errors stay fast."""

from __future__ import annotations

from befriend.cli import (  # noqa: F401
    audit,
    checks,
    deploy,
    feedback_sources,
    keys,
    links,
    local,
    people,
    plays,
    reports,
    webhooks,
)
from befriend.cli.base import KEY_ROLES, main

__all__ = ["KEY_ROLES", "main"]
