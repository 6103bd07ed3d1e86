"""`Idempotency-Key` (IETF draft-ietf-httpapi-idempotency-key-header): a retried request with
the same key gets the first answer again instead of acting twice.

Answers are kept for 24 hours. An answer that holds personal data is kept in the person's
own partition, so erasure removes it with everything else.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from flask import Response, request

from befriend.core.errors import IdempotencyMismatch, Unavailable
from befriend.core.words import N_
from befriend.store import keys
from befriend.web.problems import Problem
from befriend.web.services import services

log = logging.getLogger("befriend")
KEEP = timedelta(hours=24)
_KEPT_HEADERS = ("Content-Type", "Location")

View = Callable[..., Response]


def idempotent(
    scope: str,
    partition: Callable[[], str | None] | None = None,
    token_field: str | None = None,
    reissue: Callable[[], str] | None = None,
) -> Callable[[View], View]:
    """Replay the first 2xx/3xx answer for a repeated Idempotency-Key.

    `partition` names the person (their id) when the answer is about someone: it is kept
    in their partition, so erasure removes it.
    A bearer token in the answer (`token_field`) is never stored: a replay gets a fresh one
    from `reissue`, which refuses when the person has since signed out or been erased."""

    def wrap(view: View) -> View:
        @wraps(view)
        def run(*args: Any, **kwargs: Any) -> Response:
            key = request.headers.get("Idempotency-Key")
            if key is None:
                return view(*args, **kwargs)
            pk = partition() if partition else None
            if partition is not None and pk is None:
                # Nobody the credential names: the view refuses it, before the key counts.
                return view(*args, **kwargs)
            if not key or len(key) > 255:
                raise Problem(
                    400, "bad-idempotency-key", N_("Idempotency-Key must be 1 to 255 characters")
                )
            s = services()
            digest = hashlib.sha256(f"{scope}\n{key}".encode()).hexdigest()
            where = keys.idempotent_answer(digest, pk)
            # Keyed, because the body may hold an address and the sign-up record holds no
            # person to be erased with.
            fingerprint = s.pseudonyms.fingerprint(
                b"\n".join(
                    [
                        request.method.encode(),
                        request.path.encode(),
                        request.mimetype.encode(),
                        request.get_data(cache=True),
                    ]
                )
            )
            now = s.clock()
            kept = s.store.replay(*where, now)
            if kept is None:
                answer = view(*args, **kwargs)
                if answer.status_code >= 400:
                    return answer
                body = answer.get_data(as_text=True)
                if token_field is not None:
                    body = json.dumps(
                        {k: v for k, v in json.loads(body).items() if k != token_field}
                    )
                kept = {
                    "fingerprint": fingerprint,
                    "status": answer.status_code,
                    "body": body,
                    "headers": {h: answer.headers[h] for h in _KEPT_HEADERS if h in answer.headers},
                }
                try:
                    if s.store.remember(*where, kept, now + KEEP):
                        return answer
                except Unavailable:
                    # The view's change is written; only its copy for a replay is not. A
                    # retry acts again, which every idempotent route survives unchanged.
                    log.warning("an answer was not kept for replay: the table is busy")
                    return answer
                kept = s.store.replay(*where, now) or kept  # a twin request stored first
            if kept["fingerprint"] != fingerprint:
                raise IdempotencyMismatch(N_("send a new key for a new request"))
            body = kept["body"]
            if token_field is not None and reissue is not None:
                body = json.dumps({**json.loads(body), token_field: reissue()})
            return Response(
                body,
                status=kept["status"],
                headers={**kept["headers"], "Idempotent-Replayed": "true"},
            )

        return run

    return wrap
