"""What the views need, built once per app and reached through `services()`."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from befriend.clock import Clock
from befriend.config import Settings
from befriend.core.playbook import Playbook
from befriend.mail import Mailer
from befriend.notify import Notifier
from befriend.pseudonyms import Pseudonyms
from befriend.store import Store
from befriend.tokens import Tokens


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: Store
    clock: Clock
    mailer: Mailer
    playbook: Playbook
    tokens: Tokens
    pseudonyms: Pseudonyms
    notifier: Notifier


def services() -> Services:
    found: Services = current_app.extensions["befriend"]
    return found
