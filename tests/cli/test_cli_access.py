"""Commands that need AWS, run without it: they say what to pass, or find the running
`befriend serve`, and never end in a traceback."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    UnauthorizedSSOTokenError,
)
from click.testing import CliRunner

from befriend.cli import main, serve_record
from befriend.credentials.keys import Keys
from befriend.local.server import free_port
from tests.conftest import Serve, bearer, cli_env, run_befriend, start_serve

KEY_CREATE = ("keys", "create", "--name", "x", "--role", "reader")


def no_aws(home: Path, state: Path) -> dict[str, str]:
    """A `befriend` environment in which boto3 finds no credentials at all, with records of
    running servers kept in `state`."""
    home.mkdir(parents=True, exist_ok=True)
    env = cli_env()  # no AWS_* variables
    env.update(
        HOME=str(home),
        AWS_CONFIG_FILE=str(home / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(home / "no-credentials"),
        AWS_EC2_METADATA_DISABLED="true",  # no instance role either, and no wait for one
        BEFRIEND_STATE_DIR=str(state),
    )
    return env


def said(done: subprocess.CompletedProcess[str]) -> str:
    return done.stdout + done.stderr


@dataclass
class Served:
    """`befriend serve` run without AWS, and the folder it records itself in."""

    serve: Serve
    state: Path


def serve_without_aws(home: Path, state: Path) -> Served:
    env = no_aws(home, state)
    return Served(start_serve(home / "serve.log", "--no-demo", env=env), state)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("served")
    running = serve_without_aws(root / "home", root / "state")
    yield running
    running.serve.stop()


def user(served: Served, tmp_path: Path) -> dict[str, str]:
    """Another person's shell on the same machine: no AWS, the same state folder."""
    return no_aws(tmp_path / "home", served.state)


@pytest.mark.parametrize(
    "command",
    [
        KEY_CREATE,
        ("keys", "list"),
        ("ledger", "verify"),
        ("reports", "check"),
        ("consent", "sweep"),
        ("export",),
        ("audit", "list"),
    ],
    ids=lambda c: " ".join(c[:2]),
)
def test_without_credentials_or_a_server_a_command_says_what_to_pass(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    done = run_befriend(*command, env=no_aws(tmp_path / "home", tmp_path / "state"))
    assert done.returncode == 2, said(done)
    assert "Traceback" not in said(done)
    message = done.stderr
    assert "no AWS credentials, no --endpoint-url, and no `befriend serve` running" in message
    for hint in ("--endpoint-url", "befriend serve", "AWS_PROFILE", "--table", "--region"):
        assert hint in message, hint


def test_a_running_serve_is_found_and_the_key_made_works_against_it(
    served: Served, tmp_path: Path
) -> None:
    done = run_befriend(*KEY_CREATE, env=user(served, tmp_path))
    assert done.returncode == 0, said(done)
    assert (
        f"using the local server started by `befriend serve` at {served.serve.endpoint} "
        "(table befriend)" in done.stderr
    )
    made = dict(line.split(maxsplit=1) for line in done.stdout.splitlines())
    key = made["key:"]
    request = urllib.request.Request(f"{served.serve.base}/api/plays", headers=bearer(key))
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200
    # The other commands find it too, and see the key made.
    listed = run_befriend("keys", "list", env=user(served, tmp_path))
    assert listed.returncode == 0, said(listed)
    row = next(line for line in listed.stdout.splitlines() if line.startswith(made["id:"]))
    assert row.split()[1:3] == ["x", "reader"]


def test_serve_records_itself_privately_and_removes_the_record_when_it_stops(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    running = serve_without_aws(tmp_path / "home", state).serve
    try:
        [path] = state.glob("serve-*.json")
        record = json.loads(path.read_text())
        assert record["endpoint"] == running.endpoint
        assert record["site_url"] == running.base
        assert (record["table"], record["region"]) == ("befriend", "eu-west-1")
        assert record["pid"] == running.process.pid
        assert "bfk_" not in path.read_text()  # no key, no secret
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(state.stat().st_mode) == 0o700
    finally:
        running.stop()
    assert list(state.iterdir()) == []


def test_a_stale_record_is_ignored(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a server that was killed: its pid is no longer a process
    silent = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    for pid in (gone.pid, os.getpid()):  # dead; alive but not answering
        record = serve_record.ServeRecord(silent, "befriend", "eu-west-1", "x", pid, time.time())
        serve_record.write(record, state)
    done = run_befriend(*KEY_CREATE, env=no_aws(tmp_path / "home", state))
    assert done.returncode == 2, said(done)
    assert "no `befriend serve` running" in done.stderr
    assert "using the local server" not in said(done)
    assert "Traceback" not in said(done)
    # The dead one's record is removed; the live process's is left for when it answers.
    assert [p.name for p in state.glob("serve-*.json")] == [f"serve-{os.getpid()}.json"]


def test_a_missing_table_is_named(served: Served, tmp_path: Path) -> None:
    found = run_befriend("keys", "list", "--table", "nosuch", env=user(served, tmp_path))
    assert found.returncode == 2, said(found)
    assert "Traceback" not in said(found)
    assert "no table 'nosuch' at the local server of `befriend serve`" in found.stderr
    assert "its table is 'befriend'" in found.stderr

    given = run_befriend(
        *("ledger", "verify", "--endpoint-url", served.serve.endpoint, "--table", "nosuch"),
        env=no_aws(tmp_path / "home", tmp_path / "empty"),
    )
    assert given.returncode == 2, said(given)
    assert "Traceback" not in said(given)
    assert f"no table 'nosuch' at {served.serve.endpoint}" in given.stderr


def test_an_endpoint_that_does_not_answer_is_named(tmp_path: Path) -> None:
    silent = f"http://127.0.0.1:{free_port()}"
    done = run_befriend(
        "keys", "list", "--endpoint-url", silent, env=no_aws(tmp_path / "home", tmp_path / "state")
    )
    assert done.returncode == 2, said(done)
    assert "Traceback" not in said(done)
    assert f"cannot reach the AWS endpoint at {silent}" in done.stderr
    assert "befriend serve" in done.stderr


def refused(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "no"}}, "Query")


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        (refused("UnrecognizedClientException"), "AWS refused the credentials"),
        (refused("AccessDeniedException"), "these AWS credentials may not call Query"),
        (PartialCredentialsError(provider="env", cred_var="AWS_SECRET_ACCESS_KEY"), "incomplete"),
        (NoRegionError(), "no AWS region: pass --region"),
        (ProfileNotFound(profile="nowhere"), "set AWS_PROFILE to a profile"),
        (UnauthorizedSSOTokenError(), "`aws sso login`"),
    ],
    ids=["refused", "denied", "partial", "no-region", "no-profile", "sso-expired"],
)
def test_credential_failures_mid_command_end_in_one_message(
    monkeypatch: pytest.MonkeyPatch, failure: Exception, message: str
) -> None:
    def fail(self: Any) -> None:
        raise failure

    monkeypatch.setattr(Keys, "all", fail)
    result = CliRunner().invoke(main, ["keys", "list", "--endpoint-url", "http://127.0.0.1:9"])
    assert result.exit_code == 2, result.output
    assert message in result.stderr


def test_other_failures_are_not_disguised(monkeypatch: pytest.MonkeyPatch) -> None:
    other = ClientError({"Error": {"Code": "ValidationException", "Message": "bad"}}, "Query")

    def fail(self: Any) -> None:
        raise other

    monkeypatch.setattr(Keys, "all", fail)
    result = CliRunner().invoke(main, ["keys", "list", "--endpoint-url", "http://127.0.0.1:9"])
    assert result.exception is other


def test_the_state_folder_is_per_user_and_can_be_moved(tmp_path: Path) -> None:
    home = str(Path.home())
    assert serve_record.state_dir({"BEFRIEND_STATE_DIR": "/x", "XDG_RUNTIME_DIR": "/r"}) == Path(
        "/x"
    )
    assert serve_record.state_dir({"XDG_RUNTIME_DIR": "/r"}) == Path("/r/befriend")
    if sys.platform.startswith("linux"):
        assert serve_record.state_dir({"XDG_CACHE_HOME": "/c"}) == Path("/c/befriend")
        assert serve_record.state_dir({}) == Path(home, ".cache", "befriend")
