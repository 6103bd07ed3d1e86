"""`befriend serve`: the whole product on this machine, against moto's server.

moto runs in this process on a free loopback port, so other `befriend` commands can reach
the same data with `--endpoint-url` (or AWS_ENDPOINT_URL) while the app serves the API.
The static site is built from the playbook in force into a temporary folder at start and
served on the same origin as `/api` (`SiteAndApi`); in AWS a CDN serves it, never Lambda.
"""

from __future__ import annotations

import logging
import mimetypes
import os
import re
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import boto3
from werkzeug.serving import WSGIRequestHandler, make_server, run_simple
from werkzeug.wrappers import Request, Response

from befriend.build.sitegen import build_site
from befriend.cli import serve_record
from befriend.clock import system_clock
from befriend.config import Settings
from befriend.core.frozen import replace
from befriend.credentials.keys import Keys
from befriend.jobs.fanout import LocalWorker
from befriend.jobs.webhooks import LocalDeliverer, deliverer_for
from befriend.local.accounts import local_pool
from befriend.local.demo import seed
from befriend.local.schedules import LocalSchedules
from befriend.mailing.worker import Worker
from befriend.store import Store
from befriend.web.app import SITE_HEADERS, create_app, read_playbook

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from befriend.web.services import Services

_TOKEN_IN_PATH = re.compile(r"(/api/(?:unsubscribe|r)/)[^\s?\"]+")


class RedactingHandler(WSGIRequestHandler):
    """The access log never shows a token that sits in a URL: an unsubscribe link's, or a
    play mail's link through the redirect (`/api/r/`)."""

    def log(self, type: str, message: str, *args: Any) -> None:
        line = _TOKEN_IN_PATH.sub(r"\1…", message % args)
        sys.stderr.write(f"{self.address_string()} [{self.log_date_time_string()}] {line}\n")


# Paths the API answers; everything else is the site.
_API = re.compile(r"/(api|dev)(/.*)?")
_HASHED = re.compile(r"/assets/.+\.[0-9a-f]{8}\.[A-Za-z0-9]+")
IMMUTABLE = "public, max-age=31536000, immutable"


class SiteAndApi:
    """Local mode only: the built site and the API on one origin, as the CDN serves them.

    `/` is `index.html` and `/x/` is `x/index.html`; `/x` moves to `/x/`. Hashed assets may
    be cached for a year, pages are revalidated every time, and an unknown path gets
    `404.html` with status 404. Every answer carries the site's security headers."""

    def __init__(self, api: WSGIApplication, site: Path) -> None:
        self.api = api
        self.site = site.resolve()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if _API.fullmatch(environ.get("PATH_INFO") or "/"):
            return self.api(environ, start_response)
        return self.answer(Request(environ))(environ, start_response)

    def answer(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return self._secure(
                Response("Method not allowed\n", 405, {"Allow": "GET, HEAD"}), "no-store"
            )
        path = request.path
        found = self._file(path)
        if found is None and not path.endswith("/") and self._file(path + "/") is not None:
            query = request.query_string.decode("latin-1")
            moved = Response(
                status=308, headers={"Location": path + "/" + ("?" if query else "") + query}
            )
            return self._secure(moved, "no-cache")
        if found is None:
            # The not-found page in the language the address is in (`/de/…`), if built.
            page = self._file("/" + path.strip("/").split("/")[0] + "/404.html")
            page = page or self._file("/404.html")
            body = page.read_bytes() if page is not None else b"Not found\n"
            return self._secure(Response(body, 404, mimetype="text/html"), "no-cache")
        cache = IMMUTABLE if _HASHED.fullmatch(path) else "no-cache"
        kind = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
        answer = Response(found.read_bytes(), 200, mimetype=kind)
        answer.add_etag()
        return self._secure(answer.make_conditional(request), cache)

    def _file(self, path: str) -> Path | None:
        """The built file a URL path names, or None; hidden files and `..` name nothing."""
        parts = path.split("/")[1:]
        if path.endswith("/"):
            parts[-1] = "index.html"
        if any(not p or p.startswith(".") or "\\" in p or "\0" in p for p in parts):
            return None
        found = self.site.joinpath(*parts)
        return found if found.is_file() and found.resolve().is_relative_to(self.site) else None

    @staticmethod
    def _secure(answer: Response, cache: str) -> Response:
        for name, value in SITE_HEADERS.items():
            answer.headers[name] = value
        answer.headers["Cache-Control"] = cache
        return answer


class LocalAws:
    """moto's server on a free loopback port, answering one request at a time.

    moto's in-memory backends are not safe for concurrent requests (a transaction copies
    the table while another request writes it), whereas DynamoDB applies each request
    atomically. One request at a time gives the app DynamoDB's semantics: concurrent app
    threads still race between their read and their conditional write, as in AWS.
    `after_each` runs after every request, still alone with moto's data."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, after_each: Callable[[], None] | None = None
    ) -> None:
        try:
            from moto.moto_server.werkzeug_app import (
                DomainDispatcherApplication,
                create_backend_app,
            )
        except ImportError as exc:  # pragma: no cover - the local extra is missing
            raise SystemExit("`befriend serve` needs moto: pip install 'befriend[local]'") from exc
        # moto's server logs each AWS call through werkzeug's logger; the app logs on its own.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        app: WSGIApplication = DomainDispatcherApplication(create_backend_app)
        if after_each is not None:
            app = _then(app, after_each)
        self._server = make_server(host, port or free_port(host), app, threaded=False)
        self.endpoint = f"http://{host}:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _then(app: WSGIApplication, after: Callable[[], None]) -> WSGIApplication:
    """`app`, with `after` run once each answer is made (moto's answers are whole lists)."""

    def wrapped(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        try:
            return list(app(environ, start_response))
        finally:
            after()

    return wrapped


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def start_moto() -> LocalAws:
    """Start moto's server on a free loopback port, as `befriend serve` runs it, and point
    boto3 at it: each transaction backs up only the items it names, and what moto would
    keep of each request beside the tables is let go of (befriend.local.moto_patches)."""
    from befriend.local.moto_patches import keep_bounded, narrow_transaction_backup

    narrow_transaction_backup()
    aws = LocalAws(after_each=keep_bounded)
    # moto accepts any credentials; fixed ones keep a real AWS profile out of the way.
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": aws.endpoint,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_SESSION_TOKEN": "local",
        }
    )
    os.environ.pop("AWS_PROFILE", None)
    return aws


def local_settings(port: int) -> Settings:
    env = dict(os.environ)
    env.setdefault("BEFRIEND_SECRET", secrets.token_urlsafe(32))
    env["BEFRIEND_SITE_URL"] = f"http://127.0.0.1:{port}"
    env["BEFRIEND_LOCAL"] = "1"
    env.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
    return Settings.from_env(env)


def prepare(settings: Settings, demo: int) -> Store:
    """Create the table, verify the sender with SES, and seed `demo` demo people."""
    store = Store(settings.table, region=settings.region, counter_shards=settings.counter_shards)
    store.create_table()
    playbook = read_playbook(settings)
    boto3.client("ses", region_name=settings.region).verify_email_identity(
        EmailAddress=playbook.organisation.sender
    )
    if demo:
        seed(store, playbook, settings.secret, system_clock(), people=demo)
    return store


def serve(host: str, port: int, demo: int) -> None:
    aws = start_moto()
    settings = local_settings(port)
    # Marketers sign in as themselves too: a user pool in moto, a user for each role.
    accounts = local_pool(settings.region)
    settings = replace(settings, user_pool=accounts.id, user_pool_client=accounts.client)
    print(f"seeding {demo} demo people…" if demo else "starting with an empty table…")
    store = prepare(settings, demo)
    # A key for trying the marketer API at once; it lives only as long as this process.
    admin, _ = Keys(store).create("local admin", "admin", system_clock())
    # Built from the playbook in force, so the form's policy version is the one the API asks.
    site = Path(tempfile.mkdtemp(prefix="befriend-site-"))
    # SIGTERM ends the server like Ctrl-C does, so the temporary site is removed either way.
    signal.signal(signal.SIGTERM, _terminate)
    mail: Worker | None = None
    work: LocalWorker | None = None
    schedules: LocalSchedules | None = None
    hooks: LocalDeliverer | None = None
    try:
        build_site(read_playbook(settings), settings.templates, site)
        api = create_app(settings, store)
        app = SiteAndApi(api, site)
        # Mail jobs are done beside the server, as the mail function does them in AWS.
        mail = local_worker(api.extensions["befriend"])
        # Pieces of long jobs (audience exports) are taken as the work function takes them.
        work = local_pieces(api.extensions["befriend"])
        # Webhooks out, taken from their queue as the webhook function takes them in AWS.
        hooks = local_webhooks(api.extensions["befriend"])
        # The daily sweep and the event redrive, at the times their schedules give in AWS.
        schedules = LocalSchedules(api.extensions["befriend"])
        schedules.start()
        base = f"http://{host}:{port}"
        print(f"befriend is running at {base}/")
        print(f"  API health:      {base}/api/health")
        print(f"  site built into: {site}")
        print(f"  local outbox:    {base}/dev/outbox")
        print(f"  webhooks seen:   {base}/dev/webhooks")
        print(f"  OpenAPI:         {base}/api/openapi.json")
        print(f"  moto endpoint:   {aws.endpoint}")
        print(f"  check ledgers:   befriend ledger verify --endpoint-url {aws.endpoint}")
        print(f"  admin API key:   {admin}  (local only; send as Authorization: Bearer …)")
        print(f"  marketers' accounts (moto's user pool {accounts.id}, local only):")
        for role, user in accounts.users.items():
            print(f"    {role:<7} {user.name}  password: {user.password}")
        with recorded(aws, settings):
            run_simple(host, port, app, threaded=True, request_handler=RedactingHandler)
    except SystemExit as stopped:
        status = stopped.code if isinstance(stopped.code, int) else 1
    else:
        status = 0  # Ctrl-C: werkzeug's server ends quietly
    finally:
        if mail is not None:
            mail.stop()
        if work is not None:
            work.stop()
        if schedules is not None:
            schedules.stop()
        if hooks is not None:
            hooks.stop()
        aws.stop()
        shutil.rmtree(site, ignore_errors=True)
    leave(status)


def leave(status: int) -> NoReturn:
    """End the process now that the servers, the mail worker, the temporary site and the
    record are done with: without the interpreter's own ending, which frees every object
    of a heap that holds the whole table (and, before moto's state was bounded, took over
    a minute on a large one). The requests still in flight are cut off, as Ctrl-C cuts
    them off anyway."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def local_worker(services: Services) -> Worker:
    """The mail worker of `befriend serve`, started."""
    worker = Worker(services.mail_work, services.queue)
    worker.start()
    return worker


def local_pieces(services: Services) -> LocalWorker:
    """The work queue's worker of `befriend serve`, started."""
    assert services.work is not None  # serve's settings are local: its queue is made
    worker = LocalWorker(services, services.work)
    worker.start()
    return worker


def local_webhooks(services: Services) -> LocalDeliverer:
    """The webhook queue's worker of `befriend serve`, started: it looks every tenth of a
    second, so a change reaches a local receiver well within a second."""
    deliverer = LocalDeliverer(deliverer_for(services))
    deliverer.start()
    return deliverer


def recorded(aws: LocalAws, settings: Settings) -> AbstractContextManager[Path | None]:
    """While the server runs, other `befriend` commands on this machine find it (its moto
    endpoint, table and region) without --endpoint-url; see befriend.cli.serve_record."""
    return serve_record.recorded(aws.endpoint, settings.table, settings.region, settings.site_url)


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)
