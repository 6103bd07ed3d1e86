"""What the job tests share: a work queue of their own, and the app's services."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from befriend.mailing.queue import MailQueue
from befriend.web.services import Services
from tests.conftest import REGION


@pytest.fixture
def work(aws: None) -> MailQueue:
    return MailQueue(name=f"befriend-work-{uuid.uuid4().hex[:8]}", region=REGION)


@pytest.fixture
def services(app: Any) -> Services:
    found: Services = app.extensions["befriend"]
    return found
