"""The base of every answer type the API builds itself, apart from the answers' catalogue
(`answers.py`): the few request modules that declare an answer beside their requests
(webhooks, the audit trail, the megaphone) need only this, and the Lambda entry imports
them, while the catalogue loads with the first request for the OpenAPI document."""

from __future__ import annotations

from typing import Any, ClassVar

from msgspec import Struct


class Answer(Struct, forbid_unknown_fields=True):
    """An answer the API builds itself: closed, every field always present."""

    schema_extra: ClassVar[dict[str, Any]] = {}
