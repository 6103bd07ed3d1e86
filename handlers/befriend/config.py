"""Settings, read from the environment in this one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def default_templates() -> Path:
    """Templates ship inside the Lambda package; in a checkout they live at the top level."""
    packaged = PACKAGE / "templates"
    return packaged if packaged.is_dir() else PACKAGE.parent.parent / "templates"


class SettingsError(ValueError):
    """A setting is missing or wrong; the message names the environment variable."""


@dataclass(frozen=True)
class Settings:
    table: str
    secret: str
    site_url: str
    region: str = "eu-west-1"
    playbook_path: Path = PACKAGE / "playbook.toml"
    templates: Path = field(default_factory=default_templates)
    ses_configuration_set: str | None = None
    event_bus: str | None = None
    local: bool = False  # enables /dev/outbox; never set in AWS
    mails_per_hour: int = 3

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        secret = env.get("BEFRIEND_SECRET", "")
        if len(secret) < 32:
            raise SettingsError("BEFRIEND_SECRET must be set to at least 32 random characters")
        site = env.get("BEFRIEND_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
        if not site.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise SettingsError("BEFRIEND_SITE_URL must be an https:// URL (http only on loopback)")
        return cls(
            table=env.get("BEFRIEND_TABLE", "befriend"),
            secret=secret,
            site_url=site,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "eu-west-1",
            playbook_path=Path(env.get("BEFRIEND_PLAYBOOK") or PACKAGE / "playbook.toml"),
            templates=Path(env.get("BEFRIEND_TEMPLATES") or default_templates()),
            ses_configuration_set=env.get("BEFRIEND_SES_CONFIGURATION_SET") or None,
            event_bus=env.get("BEFRIEND_EVENT_BUS") or None,
            local=env.get("BEFRIEND_LOCAL") == "1",
        )
