"""`befriend package`: the Lambda zip holds what the function runs, and nothing else.

The zip is unpacked as Lambda unpacks it (into its task folder) and imported by an isolated
interpreter (`python -I -S`: no site-packages, no PYTHON* variables) whose path holds only
the unpacked zip and what the Lambda runtime provides: boto3 and its dependencies, linked
one by one from this environment. It then answers real API Gateway events. The zip's
dependencies are built for arm64 and Python 3.12; the test interpreter may differ, which
is fine for pure-Python wheels, and markupsafe falls back to its pure-Python code when its
arm64 extension cannot load.
"""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from befriend.packaging import FIXED_TIME, LIMIT, ZIP_NAME
from tests.conftest import REGION, ROOT, SECRET, run_befriend

EVENTS = ROOT / "tests" / "events"
# What the Lambda Python runtime provides, by the import name each installs.
RUNTIME = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
NEVER = ("moto", "pytest", "_pytest", "playwright", "jsonschema", "hypothesis", "mypy", "ruff")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("dist")
    done = run_befriend("package", "--out", str(out), timeout=600)
    assert done.returncode == 0, done.stderr
    return out / ZIP_NAME, done.stdout


@pytest.fixture(scope="module")
def names(built: tuple[Path, str]) -> list[str]:
    with zipfile.ZipFile(built[0]) as archive:
        return archive.namelist()


def test_the_zip_is_under_five_megabytes_and_says_how_big(built: tuple[Path, str]) -> None:
    path, said = built

    size = path.stat().st_size
    assert size < LIMIT
    assert f"({size} bytes)" in said
    assert re.search(r"ok: .*befriend-lambda\.zip, \d+ files, \d+\.\d MB", said)


def test_the_zip_holds_no_tests_dev_tools_or_what_the_runtime_provides(names: list[str]) -> None:
    tops = {name.split("/", 1)[0].split("-", 1)[0].removesuffix(".py") for name in names}

    assert not tops & set(NEVER)
    assert not tops & set(RUNTIME)
    assert not tops & {"tests", "bin"}
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_the_zip_holds_the_app_its_templates_and_charts(names: list[str]) -> None:
    assert "befriend/lambda_app.py" in names
    assert "befriend/playbook.toml" in names
    assert "befriend/py.typed" in names
    assert "befriend/templates/api/unsubscribe.html" in names
    assert "befriend/templates/mail/confirm.txt" in names
    assert not [n for n in names if n.startswith(("befriend/templates/site/", "templates/"))]
    assert "pygal/__init__.py" in names
    assert "flask/__init__.py" in names


def test_the_zip_is_the_same_bytes_when_built_again(
    built: tuple[Path, str], names: list[str], tmp_path: Path
) -> None:
    with zipfile.ZipFile(built[0]) as archive:
        assert {info.date_time for info in archive.infolist()} == {FIXED_TIME}
    assert names == sorted(names)

    again = run_befriend("package", "--out", str(tmp_path), timeout=600)

    assert again.returncode == 0, again.stderr
    assert (tmp_path / ZIP_NAME).read_bytes() == built[0].read_bytes()


# Run by `python -I -S`: argv holds the task folder, the runtime folder and the events.
COLD_START = """
import json, os, sys, sysconfig, types

task, runtime, *events = sys.argv[1:]
sys.path[:0] = [task, runtime]
from befriend import lambda_app

context = types.SimpleNamespace(
    function_name="befriend-api",
    aws_request_id="c6af9ac6-7b61-11e6-9a41-93e812345678",
    get_remaining_time_in_millis=lambda: 30_000,
)
answers = []
for name in events:
    with open(name) as f:
        answer = lambda_app.handler(json.load(f), context)
    answers.append([answer["statusCode"], answer["body"]])
roots = [task, runtime, sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]]
elsewhere = sorted(
    name for name, module in list(sys.modules.items())
    if getattr(module, "__file__", None)
    and not any(os.path.abspath(module.__file__).startswith(root + os.sep) for root in roots)
)
print(json.dumps({
    "answers": answers,
    "pygal": "pygal" in sys.modules,
    "elsewhere": elsewhere,
}))
"""


def lambda_runtime(folder: Path) -> Path:
    """What the Lambda runtime puts on the path, linked from this environment: boto3 and its
    dependencies only."""
    folder.mkdir()
    for name in RUNTIME:
        module = importlib.import_module(name)
        source = Path(module.__file__ or "")
        source = source.parent if source.name == "__init__.py" else source
        (folder / source.name).symlink_to(source)
    return folder


def test_the_zip_answers_a_real_event_in_a_clean_interpreter(
    built: tuple[Path, str], tmp_path: Path
) -> None:
    task = tmp_path / "task"
    with zipfile.ZipFile(built[0]) as archive:
        archive.extractall(task)
    runtime = lambda_runtime(tmp_path / "runtime")
    env = {
        "BEFRIEND_SECRET": SECRET,
        "BEFRIEND_SITE_URL": "https://prefs.example",
        "BEFRIEND_TABLE": "befriend-package-test",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        # Nothing may reach AWS: a call would fail at once on this closed loopback port.
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "HOME": str(tmp_path),
    }
    events = [EVENTS / "http-api-v2-health.json", EVENTS / "http-api-v2-playbook.json"]

    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", COLD_START, str(task), str(runtime), *map(str, events)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    (health, health_body), (playbook, playbook_body) = result["answers"]
    assert (health, json.loads(health_body)) == (200, {"status": "ok"})
    assert playbook == 200
    assert {"channels", "purposes"} <= json.loads(playbook_body).keys()
    assert result["elsewhere"] == [], "modules came from outside the zip and the runtime"
    assert result["pygal"] is False, "pygal is for charts; a cold start must not import it"
