"""Reading requests: JSON and form bodies, the bearer token, and the evidence of who asks."""

from __future__ import annotations

import gettext
import hmac
import json
from typing import Any
from urllib.parse import SplitResult, parse_qsl, urlsplit

from flask import request

from befriend.core.changes import Context
from befriend.core.frozen import replace
from befriend.core.words import N_
from befriend.i18n.catalogs import translations
from befriend.i18n.languages import accepted, known
from befriend.web.problems import Problem
from befriend.web.services import services


def wants_form() -> bool:
    return request.mimetype == "application/x-www-form-urlencoded"


def json_body() -> Any:
    """The parsed JSON body; 415 for another media type, 400 for malformed JSON."""
    if request.mimetype != "application/json":
        raise Problem(
            415,
            "unsupported-media-type",
            N_("Send JSON"),
            N_("Use Content-Type: application/json."),
        )
    raw = request.get_data(cache=True)
    try:
        parsed = json.loads(raw) if raw else None
        # JSON may spell lone surrogates (\ud800) that no UTF-8 store or mail can hold.
        json.dumps(parsed, ensure_ascii=False).encode()
    except UnicodeError as exc:
        raise Problem(
            400,
            "malformed-json",
            N_("The body is not valid JSON"),
            N_("It holds text that is not valid Unicode."),
        ) from exc
    except (ValueError, RecursionError) as exc:
        raise Problem(
            400, "malformed-json", N_("The body is not valid JSON"), str(exc)[:200]
        ) from exc
    return parsed


def form_body(lists: tuple[str, ...] = ()) -> dict[str, Any]:
    """A urlencoded form as a dict; fields named in `lists` may repeat."""
    form = request.form
    return {key: form.getlist(key) if key in lists else form.get(key) for key in form}


def page_query() -> dict[str, str]:
    """The query of this site's page a form was posted from, read from its `Referer`.

    The site's pages send `Referrer-Policy: same-origin`, so a browser names the page only
    to the site itself, and a page without JavaScript has no other way to pass on the
    address it was opened with. The first value of each key is kept."""
    page = _own_page()
    if page is None:
        return {}
    try:
        pairs = parse_qsl(page.query, max_num_fields=50)
    except ValueError:
        return {}
    found: dict[str, str] = {}
    for key, value in pairs:
        found.setdefault(key, value)
    return found


def request_language() -> str:
    """The language of the page a request came from, among the playbook's: the page's own
    path when the site names it (`/de/…`; the site's pages send their referrer to the site,
    scripts' calls and forms alike), else the first the client accepts (`Accept-Language`,
    for other clients of the API), else the playbook's default."""
    org = services().playbook.organisation
    if _own_page() is not None:
        root = page_root()
        return root.strip("/") if root != "/" else org.language
    for tag in accepted(request.headers.get("Accept-Language", "")):
        found = known(tag)
        if found is not None and found.code in org.site_languages:
            return found.code
    return org.language


def words() -> gettext.NullTranslations:
    """The catalog of the request's language (`request_language`), for the few words the
    API itself says to a person."""
    return translations(request_language())


def page_root() -> str:
    """Where the site's pages in the form page's language begin: `/de/` for a page under
    `/de/`, else `/`; a form without JavaScript is answered with a page in its language."""
    page = _own_page()
    first = page.path.strip("/").split("/")[0] if page is not None else ""
    # The default language is at the root; the playbook's others each under their code.
    org = services().playbook.organisation
    return org.root(first) if first in org.site_languages else "/"


def _own_page() -> SplitResult | None:
    """This site's page the request came from, by its `Referer`. A referrer from another
    origin (not the site's own, nor the one this request came to) says nothing about this
    site and gives nothing; so does one that does not parse."""
    referrer = request.headers.get("Referer", "")
    if not referrer:
        return None
    try:
        page = urlsplit(referrer)
    except ValueError:
        return None
    own = {_origin(services().settings.site_url), _origin(request.host_url)}
    if not page.netloc or f"{page.scheme}://{page.netloc}".lower() not in own:
        return None
    return page


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def bearer() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Problem(
            401,
            "missing-token",
            N_("A manage token is required"),
            N_("Send it as `Authorization: Bearer <token>`; it comes from the link in your mail."),
            headers={"WWW-Authenticate": "Bearer"},
        )
    return token.strip()


def gpc() -> bool:
    """Global Privacy Control: `Sec-GPC: 1` means "do not sell or share my data"."""
    return request.headers.get("Sec-GPC", "").strip() == "1"


def client_address() -> str | None:
    """The caller's address.

    Behind CloudFront, API Gateway sees the edge, not the visitor: the viewer's address is
    then taken from `CloudFront-Viewer-Address`, but only on a request that carries the
    origin secret CloudFront adds (anyone can send the header straight to the API).
    Otherwise API Gateway's own request context comes first: apig-wsgi fills REMOTE_ADDR
    from X-Forwarded-For for REST API events, and a client can put anything at the front
    of that header. Outside Lambda, the socket's peer address is the truth."""
    viewer = _viewer_address()
    if viewer is not None:
        return viewer
    ctx = request.environ.get("apig_wsgi.request_context") or {}
    seen = (ctx.get("http") or {}).get("sourceIp") or (ctx.get("identity") or {}).get("sourceIp")
    return seen or request.remote_addr


ORIGIN_HEADER = "X-Befriend-Origin"


def _viewer_address() -> str | None:
    secret = services().settings.origin_secret
    sent = request.headers.get(ORIGIN_HEADER, "")
    if not secret or not hmac.compare_digest(sent.encode(), secret.encode()):
        return None
    # "198.51.100.10:46532", or an IPv6 address followed by ":port".
    host, _, port = request.headers.get("CloudFront-Viewer-Address", "").rpartition(":")
    if not port.isdigit():
        return None
    return host.strip("[]") or None


def count_client() -> None:
    """One more sign-up or link request from this client this hour; 429 past the limit."""
    s = services()
    wait = s.store.take_client_slot(
        s.pseudonyms.client_rate(client_address()), s.clock(), s.settings.client_requests_per_hour
    )
    if wait is not None:
        minutes = (wait + 59) // 60
        raise Problem(
            429,
            "too-many-requests",
            N_("Too many requests from your connection"),
            N_("Please try again in %(n)d minute.")
            if minutes == 1
            else N_("Please try again in %(n)d minutes."),
            {"n": minutes},
            headers={"Retry-After": str(wait)},
        )


def context(source: str) -> Context:
    s = services()
    evidence = s.pseudonyms.evidence(client_address(), request.user_agent.string)
    return Context(
        now=s.clock(),
        source=source,
        evidence=replace(evidence, language=request_language()),
        gpc=gpc(),
        contact_key=s.pseudonyms.contact,
    )
