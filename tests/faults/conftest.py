"""The app as deployed wires it: its own boto3 clients (with the production retry and timeout
settings) for the table, SES, the bus and the mail queue, each with a `Faults` on the wire.

`app` is overridden here, so `client`, `mails` and `sign_up` from the shared fixtures drive
this app; the `store` fixture's table is the one it writes, and still ends every test with
`reports check`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask

from befriend.clock import SettableClock
from befriend.config import Settings
from befriend.core.frozen import replace
from befriend.core.playbook import Playbook
from befriend.store import Store
from befriend.web.app import create_app
from befriend.web.services import Services
from tests.conftest import REGION
from tests.faults.inject import Faults


@dataclass
class Wire:
    """The failures planned on each of the app's clients."""

    dynamodb: Faults
    ses: Faults
    events: Faults
    sqs: Faults


@pytest.fixture
def app(
    settings: Settings,
    store: Store,
    clock: SettableClock,
    ses: Any,
    playbook: Playbook,
    bus: tuple[str, Any, str],
) -> Flask:
    deployed = replace(settings, event_bus=bus[0])
    flask_app = create_app(deployed, Store(store.table, region=REGION), clock, playbook=playbook)
    flask_app.testing = True
    return flask_app


@pytest.fixture
def services(app: Flask) -> Services:
    found: Services = app.extensions["befriend"]
    return found


@pytest.fixture
def wire(services: Services) -> Wire:
    return Wire(
        dynamodb=Faults().attach(services.store.client),
        ses=Faults().attach(services.mailer.client),
        events=Faults().attach(services.notifier.client),
        sqs=Faults().attach(services.queue.client),
    )
