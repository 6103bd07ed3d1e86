"""AWS failures answered at the HTTP layer of a real boto3 client, in front of moto.

moto answers a client's calls from a `before-send` handler on the client's own event
emitter. `Faults.attach(client)` puts itself in that place on this one client: a planned
failure is an HTTP response shaped as AWS sends it (JSON for DynamoDB and EventBridge, XML
for SES) or a connection error, so botocore parses it and applies the client's retry rules
exactly as against AWS; every other call goes on to moto. A "lost" answer lets moto do the
work and then loses the response on the way back, as a timeout would. Nothing in befriend
is patched: the app keeps its own clients.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

from befriend.local.moto_patches import moto_answers, take_over

DYNAMODB_ERROR = "com.amazonaws.dynamodb.v20120810#"


class _Body:
    """The raw body botocore reads a response from."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


@dataclass
class Failure:
    status: int
    body: bytes
    headers: dict[str, str]
    times: int | None  # None: every call from now on
    unreachable: bool = False
    after: int = 0  # calls let through before the first failure
    lost: bool = False  # done by moto, but the answer never arrives
    partial: bool = False  # PutEvents: the last entry refused, the others taken


@dataclass
class Faults:
    """Planned failures per operation name (`TransactWriteItems`, `SendRawEmail`, ...), and
    how many calls of each reached the wire, failed or not."""

    plans: dict[str, list[Failure]] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)

    def attach(self, client: Any) -> Faults:
        take_over(client, self._send)
        return self

    def clear(self) -> None:
        self.plans.clear()

    def fail(
        self,
        operation: str,
        status: int,
        body: dict[str, Any] | str,
        times: int | None = None,
        unreachable: bool = False,
        after: int = 0,
        lost: bool = False,
    ) -> None:
        if isinstance(body, str):
            data, kind = body.encode(), "text/xml"
        else:
            data, kind = json.dumps(body).encode(), "application/x-amz-json-1.0"
        failure = Failure(status, data, {"Content-Type": kind}, times, unreachable, after, lost)
        self.plans.setdefault(operation, []).append(failure)

    # --- the shapes AWS answers with ---

    def dynamodb_error(
        self, operation: str, code: str, times: int | None = None, after: int = 0
    ) -> None:
        status = 500 if code == "InternalServerError" else 400
        body = {"__type": DYNAMODB_ERROR + code, "message": f"injected {code}"}
        self.fail(operation, status, body, times, after=after)

    def cancelled(self, reasons: list[str], times: int | None = None) -> None:
        """TransactWriteItems cancelled for these reasons, one per item ("None" passes)."""
        body = {
            "__type": DYNAMODB_ERROR + "TransactionCanceledException",
            "Message": f"Transaction cancelled, please refer cancellation reasons for specific "
            f"reasons [{', '.join(reasons)}]",
            "CancellationReasons": [{"Code": r} for r in reasons],
        }
        self.fail("TransactWriteItems", 400, body, times)

    def ses_error(self, code: str, times: int | None = None) -> None:
        status = 503 if code == "ServiceUnavailable" else 400
        body = (
            '<ErrorResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><Error>'
            f"<Type>Sender</Type><Code>{code}</Code><Message>injected {code}</Message>"
            "</Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId>"
            "</ErrorResponse>"
        )
        self.fail("SendRawEmail", status, body, times)

    def unreachable(self, operation: str, times: int | None = None) -> None:
        self.fail(operation, 0, "", times, unreachable=True)

    def refuse_last_event(self) -> None:
        """PutEvents answers 200 but refuses the last entry of the next batch, as the bus
        does when it takes some entries and not others."""
        self.plans.setdefault("PutEvents", []).append(
            Failure(200, b"", {"Content-Type": "application/x-amz-json-1.1"}, 1, partial=True)
        )

    def lose_answer(self, operation: str, times: int | None = None) -> None:
        self.fail(operation, 0, "", times, lost=True)

    def _send(self, request: Any, event_name: str, **kwargs: Any) -> AWSResponse | None:
        operation = event_name.rsplit(".", 1)[-1]
        self.calls[operation] += 1
        plan = self.plans.get(operation)
        if not plan or plan[0].after:
            if plan:
                plan[0].after -= 1
            return moto_answers(event_name=event_name, request=request, **kwargs)
        failure = plan[0]
        if failure.times is not None:
            failure.times -= 1
            if failure.times == 0:
                plan.pop(0)
        if failure.unreachable:
            raise EndpointConnectionError(endpoint_url=request.url)
        if failure.lost:
            moto_answers(event_name=event_name, request=request, **kwargs)
            raise ReadTimeoutError(endpoint_url=request.url)
        body = failure.body
        if failure.partial:
            sent = json.loads(request.body)["Entries"]
            answers = [{"EventId": f"taken-{i}"} for i in range(len(sent) - 1)]
            refused = {"ErrorCode": "InternalFailure", "ErrorMessage": "injected"}
            body = json.dumps({"FailedEntryCount": 1, "Entries": [*answers, refused]}).encode()
        headers = HTTPHeaders()
        for name, value in failure.headers.items():
            headers[name] = value
        return AWSResponse(request.url, failure.status, headers, _Body(body))
