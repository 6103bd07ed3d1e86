"""AWS clients: each service's boto3 client, given or made on first use.

A holder made at import (the Lambda entry builds the app there) creates no client until it
is called: a cold start that never mails pays nothing for SES, and a moto mock started
after the holder was built is still the one in force."""

from __future__ import annotations

from functools import cached_property
from typing import Any, ClassVar, Generic, TypeVar, cast

import boto3
from botocore.config import Config

C = TypeVar("C")


class Holder(Generic[C]):
    """Holds the client of `service` (typed C), with the timeouts and retries of `config`."""

    service: ClassVar[str]
    config: ClassVar[Config]

    def __init__(
        self, client: C | None = None, *, region: str | None = None, endpoint_url: str | None = None
    ) -> None:
        self._client = client
        self._region = region
        self._endpoint_url = endpoint_url

    @cached_property
    def client(self) -> C:
        if self._client is not None:
            return self._client
        made: Any = boto3.client(  # type: ignore[call-overload]
            self.service,
            region_name=self._region,
            endpoint_url=self._endpoint_url,
            config=self.config,
        )
        return cast(C, made)
