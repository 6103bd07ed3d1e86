"""Where `befriend serve` runs, recorded so that other `befriend` commands on this machine
find it without `--endpoint-url`.

Each running `befriend serve` writes one small JSON file, `serve-<pid>.json`: its moto
endpoint, table, region, site URL, pid and start time. It holds no secret (the admin key
it prints is not in it). The folder is per user: BEFRIEND_STATE_DIR when set, else
`befriend/` in XDG_RUNTIME_DIR, else in the user's cache folder. Folder and files are
readable by their owner only. The file goes when the server stops; a record whose process
is gone (the server was killed) is stale, ignored and removed by the next reader.

Only the standard library: `befriend serve` and every command that needs AWS read it.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

STATE_DIR_ENV = "BEFRIEND_STATE_DIR"


@dataclass(frozen=True)
class ServeRecord:
    endpoint: str  # the moto server's URL, for --endpoint-url
    table: str
    region: str
    site_url: str  # the site and the API
    pid: int
    started: float  # seconds since the epoch


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    """The per-user folder that holds the records."""
    env = os.environ if env is None else env
    if env.get(STATE_DIR_ENV):
        return Path(env[STATE_DIR_ENV])
    if env.get("XDG_RUNTIME_DIR"):
        return Path(env["XDG_RUNTIME_DIR"]) / "befriend"
    if sys.platform == "darwin":
        cache = Path.home() / "Library" / "Caches"
    elif os.name == "nt":
        cache = Path(env.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    else:
        xdg = env.get("XDG_CACHE_HOME", "")
        cache = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"
    return cache / "befriend"


def write(record: ServeRecord, folder: Path | None = None) -> Path:
    """Write `record` (owner-only) and return its path; replaces a file of the same pid."""
    folder = state_dir() if folder is None else folder
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"serve-{record.pid}.json"
    partial = folder / f".serve-{record.pid}.partial"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    if hasattr(os, "fchmod"):
        os.fchmod(fd, 0o600)  # a leftover file of the same name may have had other modes
    with open(fd, "w", encoding="utf-8") as handle:
        json.dump(asdict(record), handle)
    os.replace(partial, path)  # readers never see half a record
    return path


def remove(path: Path) -> None:
    # A record that cannot be removed is ignored once its process is gone.
    with suppress(OSError):
        path.unlink(missing_ok=True)


@contextmanager
def recorded(endpoint: str, table: str, region: str, site_url: str) -> Iterator[Path | None]:
    """Record this process as a running `befriend serve` for as long as the block runs.

    A record that cannot be written is only a warning: the server runs all the same, and
    other commands then need `--endpoint-url`."""
    record = ServeRecord(endpoint, table, region, site_url, os.getpid(), time.time())
    try:
        path: Path | None = write(record)
    except OSError as exc:
        print(
            f"could not record where this server runs ({exc}): other befriend commands "
            "need --endpoint-url to reach it",
            file=sys.stderr,
        )
        path = None
    try:
        yield path
    finally:
        if path is not None:
            remove(path)


def running(folder: Path | None = None) -> list[ServeRecord]:
    """Records of `befriend serve` processes still alive, the latest started first.
    Records of processes that are gone are removed."""
    folder = state_dir() if folder is None else folder
    try:
        paths = sorted(folder.glob("serve-*.json"))
    except OSError:
        return []
    alive = []
    for path in paths:
        record = _read(path)
        if record is None:
            continue
        if not _alive(record.pid):
            remove(path)
            continue
        alive.append(record)
    return sorted(alive, key=lambda r: r.started, reverse=True)


def find(folder: Path | None = None) -> ServeRecord | None:
    """The latest started `befriend serve` that is alive and whose moto endpoint answers."""
    return next((r for r in running(folder) if answers(r.endpoint)), None)


def answers(endpoint: str, timeout: float = 0.5) -> bool:
    """Whether something listens at the endpoint's host and port."""
    try:
        parts = urlsplit(endpoint)
        host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return False
    if not host:
        return False
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _read(path: Path) -> ServeRecord | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ServeRecord(
            endpoint=str(data["endpoint"]),
            table=str(data["table"]),
            region=str(data["region"]),
            site_url=str(data["site_url"]),
            pid=int(data["pid"]),
            started=float(data["started"]),
        )
    except (OSError, ValueError, TypeError, KeyError):
        return None  # not a record (or one being replaced): ignored


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if os.name == "nt":
        return True  # signal 0 means CTRL_C_EVENT there; the endpoint check decides
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, though not ours
    except OSError:
        return False
    return True
