"""`befriend package`: the Lambda zip holds what the function runs, and nothing else.

The zip is unpacked as Lambda unpacks it (into its task folder) and imported by an isolated
interpreter (`python -I -S`: no site-packages, no PYTHON* variables) whose path holds only
the unpacked zip and what the Lambda runtime provides: boto3 and its dependencies, linked
one by one from this environment. It then answers real API Gateway events. The zip's
dependencies are built for arm64 and Python 3.12; the test interpreter may differ, which
is fine for pure-Python wheels, and markupsafe falls back to its pure-Python code when its
arm64 extension cannot load.

The command runs with no Python 3.12 on its PATH, so that it builds the same zip wherever
the tests run: sources only. Bytecode is checked with a zip built for the test interpreter's
own version and compiled by it, as a Python 3.12 would compile it for the runtime.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from befriend.build.packaging import (
    FIXED_TIME,
    LIMIT,
    PYTHON,
    ZIP_NAME,
    Package,
    PackageError,
    babel_locales,
    build,
    find_compiler,
)
from tests.conftest import REGION, ROOT, SECRET, cli_env, run_befriend, run_captured

EVENTS = ROOT / "tests" / "events"
# What the Lambda Python runtime provides, by the import name each installs.
RUNTIME = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
NEVER = ("moto", "pytest", "_pytest", "playwright", "jsonschema", "hypothesis", "mypy", "ruff")
# The test interpreter, standing in for the runtime's Python when bytecode is checked.
HERE = f"{sys.version_info.major}.{sys.version_info.minor}"
TAG = sys.implementation.cache_tag
# Shipped compiled for Lambda's arm64, so the cold-start tests load this machine's build.
NATIVE = ("msgspec",)


def package(out: Path, no_python: Path) -> subprocess.CompletedProcess[str]:
    """`befriend package --out out` with a PATH (the empty folder no_python) holding no
    interpreter to compile bytecode with."""
    no_python.mkdir(exist_ok=True)
    return run_befriend(
        "package", "--out", str(out), env={**cli_env(), "PATH": str(no_python)}, timeout=600
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("dist")
    done = package(out, tmp_path_factory.mktemp("bin"))
    assert done.returncode == 0, done.stderr
    return out / ZIP_NAME, done.stdout


@pytest.fixture(scope="module")
def names(built: tuple[Path, str]) -> list[str]:
    with zipfile.ZipFile(built[0]) as archive:
        return archive.namelist()


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Package:
    """A zip for the test interpreter's Python, its bytecode compiled by that interpreter."""
    return build(tmp_path_factory.mktemp("dist-pyc"), python=sys.executable, version=HERE)


@pytest.fixture(scope="module")
def compiled_names(compiled: Package) -> list[str]:
    with zipfile.ZipFile(compiled.path) as archive:
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


def test_without_a_python_of_the_runtimes_version_the_zip_ships_no_bytecode_and_says_so(
    built: tuple[Path, str], names: list[str]
) -> None:
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert f"no bytecode: python{PYTHON} is not on PATH" in built[1]


def test_the_zip_holds_the_app_its_templates_and_charts(names: list[str]) -> None:
    assert "befriend/lambda_app.py" in names
    assert "befriend/playbook.toml" in names
    assert "befriend/py.typed" in names
    assert "befriend/templates/api/unsubscribe.html" in names
    assert "befriend/templates/mail/confirm.txt" in names
    assert not [n for n in names if n.startswith(("befriend/templates/site/", "templates/"))]
    assert "pygal/__init__.py" in names
    assert "flask/__init__.py" in names
    # The compiled catalogs run; their sources, templates and maps stay out.
    catalogs = [n for n in names if n.startswith("befriend/locales/")]
    assert "befriend/locales/de/LC_MESSAGES/messages.mo" in catalogs
    assert all(n.endswith(".mo") for n in catalogs), catalogs


def test_the_zip_carries_babel_with_the_locale_data_of_the_playbooks_languages_alone(
    names: list[str],
) -> None:
    data = {
        n.removeprefix("babel/locale-data/")
        for n in names
        if n.startswith("babel/locale-data/") and n.endswith(".dat")
    }

    assert {"babel/__init__.py", "babel/dates.py", "babel/numbers.py"} <= set(names)
    assert "babel/global.dat" in names
    # root and the playbook's languages, none of which inherits from another locale.
    assert data == {"root.dat", "en.dat", "de.dat", "fr.dat", "es.dat"}
    assert "ja.dat" not in data and "de_AT.dat" not in data
    assert "babel/locale-data/LICENSE.unicode" in names  # CLDR's licence goes with its data
    # Its catalogs' tooling runs where the catalogs are made, not in a Lambda.
    assert not [n for n in names if n.startswith("babel/messages/")]


def test_each_distributions_record_names_only_what_the_zip_holds(
    built: tuple[Path, str], names: list[str]
) -> None:
    with zipfile.ZipFile(built[0]) as archive:
        records = {n: archive.read(n).decode() for n in names if n.endswith(".dist-info/RECORD")}

    listed = {line.split(",", 1)[0] for text in records.values() for line in text.splitlines()}
    assert any(n.startswith("babel-") for n in records)
    assert "babel/locale-data/de.dat" in listed
    assert listed <= set(names)


# Run by `python -I -S` with the unpacked zip first on the path: Babel, its data and tzdata
# all from the zip.
FORMATS = """
import json, sys
sys.path[:0] = [sys.argv[1]]
from datetime import UTC, datetime, time
import babel.localedata
from befriend.i18n.formats import long_date, number, short_time

evening = datetime(2027, 3, 6, 20, 0, tzinfo=UTC)
print(json.dumps({
    "babel": babel.__file__,
    "identifiers": sorted(babel.localedata.locale_identifiers()),
    "dates": {
        code: long_date(evening, code, "en", "Pacific/Auckland")
        for code in ("en", "de", "fr", "es", "de-AT", "ja", "en-XA", "ar-XB")
    },
    "time": short_time(time(21, 0), "de", "en"),
    "number": number(1234.5, "fr", "en"),
}))
"""


def test_a_date_is_written_from_the_unpacked_zip_alone(
    built: tuple[Path, str], tmp_path: Path
) -> None:
    task = tmp_path / "task"
    with zipfile.ZipFile(built[0]) as archive:
        archive.extractall(task)

    done = run_captured(
        [sys.executable, "-I", "-S", "-c", FORMATS, str(task)], {"HOME": str(tmp_path)}
    )

    assert done.returncode == 0, done.stderr
    said = json.loads(done.stdout)
    assert Path(said["babel"]).is_relative_to(task)
    assert said["identifiers"] == ["de", "en", "es", "fr"]
    # In Auckland's time zone, a day after the UTC date; each in its own language's words.
    # German as spoken in Austria is German (de_AT's own data is not shipped); Japanese,
    # not among the playbook's languages, and the pseudo-locales are the default's, English.
    assert said["dates"] == {
        "en": "March 7, 2027",
        "de": "7. März 2027",
        "fr": "7 mars 2027",
        "es": "7 de marzo de 2027",
        "de-AT": "7. März 2027",
        "ja": "March 7, 2027",
        "en-XA": "March 7, 2027",
        "ar-XB": "March 7, 2027",
    }
    assert (said["time"], said["number"]) == ("21:00", "1\u202f234,5")


# Run by `python -I -S` with a copy of Babel holding only the chosen locale data first on the
# path: each tag formats in its own locale, and what Babel read is what was chosen.
INHERITED = """
import json, sys
sys.path[:0] = [sys.argv[1]]
from datetime import date, time
import babel.localedata
from babel import Locale
from babel.dates import format_date, format_time
from babel.numbers import format_decimal

named = {}
for tag in sys.argv[2:]:
    locale = Locale.parse(tag, sep="-")
    format_date(date(2027, 3, 7), format="long", locale=locale)
    format_time(time(21, 0), format="short", locale=locale)
    format_decimal(1234.5, locale=locale)
    named[tag] = str(locale)
print(json.dumps({"named": named, "read": sorted(babel.localedata._cache)}))
"""


def test_the_locales_chosen_for_languages_are_those_babel_reads_for_them(
    tmp_path: Path,
) -> None:
    import babel

    tags = ("pt-BR", "zh-TW", "es-MX", "sr-Latn", "en-GB", "de-AT", "fr", "en-XA")
    chosen = babel_locales(tags)
    source = Path(babel.__file__).parent
    copy = tmp_path / "babel"
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns("locale-data", "__pycache__"))
    (copy / "locale-data").mkdir()
    for name in chosen:
        shutil.copyfile(
            source / "locale-data" / f"{name}.dat", copy / "locale-data" / f"{name}.dat"
        )

    real = [t for t in tags if t != "en-XA"]  # CLDR has no pseudo-locale: it needs nothing
    done = run_captured(
        [sys.executable, "-I", "-S", "-c", INHERITED, str(tmp_path), *real],
        {"HOME": str(tmp_path)},
    )

    assert done.returncode == 0, done.stderr
    said = json.loads(done.stdout)
    assert said["named"] == {
        "pt-BR": "pt_BR",
        "zh-TW": "zh_Hant_TW",
        "es-MX": "es_MX",
        "sr-Latn": "sr_Latn",
        "en-GB": "en_GB",
        "de-AT": "de_AT",
        "fr": "fr",
    }
    # Parents by CLDR's exceptions (es_MX -> es_419, en_GB -> en_001), a script that is not
    # the language's likely one straight to root (zh_Hant, sr_Latn), else by truncation.
    assert set(said["read"]) == chosen
    assert {"es_419", "en_001", "zh_Hant", "pt", "de", "es", "en"} <= chosen


def test_the_zip_is_the_same_bytes_when_built_again(
    built: tuple[Path, str], names: list[str], tmp_path: Path
) -> None:
    with zipfile.ZipFile(built[0]) as archive:
        assert {info.date_time for info in archive.infolist()} == {FIXED_TIME}
    assert names == sorted(names)

    again = package(tmp_path / "dist", tmp_path / "bin")

    assert again.returncode == 0, again.stderr
    assert (tmp_path / "dist" / ZIP_NAME).read_bytes() == built[0].read_bytes()


def test_with_a_python_of_the_runtimes_version_the_zip_ships_its_bytecode(
    compiled: Package, compiled_names: list[str]
) -> None:
    pyc = [n for n in compiled_names if n.endswith(".pyc")]
    modules = [n for n in compiled_names if n.startswith("befriend/") and n.endswith(".py")]

    assert compiled.bytecode == TAG
    assert "befriend/__pycache__/lambda_app." + TAG + ".pyc" in pyc
    for module in modules:
        folder, name = module.rsplit("/", 1)
        assert f"{folder}/__pycache__/{name[:-3]}.{TAG}.pyc" in pyc, module
    assert all(re.fullmatch(rf"(.+/)?__pycache__/[^/]+\.{TAG}\.pyc", n) for n in pyc)
    assert "flask/__pycache__/app." + TAG + ".pyc" in pyc
    assert compiled.size < LIMIT


def test_the_zip_with_bytecode_is_the_same_bytes_when_built_again(
    compiled: Package, tmp_path: Path
) -> None:
    again = build(tmp_path, python=sys.executable, version=HERE)

    assert again.path.read_bytes() == compiled.path.read_bytes()


def test_an_interpreter_of_another_python_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PackageError, match="would ignore it"):
        build(tmp_path, python=sys.executable, version="2.7")
    assert not (tmp_path / ZIP_NAME).exists()


def test_a_python_on_path_that_does_not_run_means_no_bytecode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What a version manager's shim does when the version it names is not installed.
    shim = tmp_path / f"python{PYTHON}"
    shim.write_text("#!/bin/sh\nexit 127\n", encoding="utf-8")
    shim.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))

    compiler = find_compiler(PYTHON)

    assert (compiler.python, compiler.tag) == (None, None)
    assert compiler.note == f"no bytecode: {shim} does not run (see --python)"


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
    "babel": "babel" in sys.modules,
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


def native_for_lambda(task: Path) -> list[str]:
    """The packages of the unpacked zip with compiled code, each checked to be built for
    Lambda's arm64. Those that cannot run without theirs (NATIVE) are taken out: this
    machine cannot load them, so `cold_start` links its own build of the same pinned
    version in their place (markupsafe falls back to pure Python by itself)."""
    built = list(task.rglob("*.so"))
    assert all(so.name.endswith("-aarch64-linux-gnu.so") for so in built), built
    for name in NATIVE:
        shutil.rmtree(task / name)
    return sorted({so.relative_to(task).parts[0] for so in built})


def cold_start(task: Path, tmp_path: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    """A clean interpreter importing the unpacked zip in task and answering two events; the
    compiled packages `native_for_lambda` took out come from this environment."""
    runtime = lambda_runtime(tmp_path / "runtime")
    for name in NATIVE:
        source = Path(importlib.import_module(name).__file__ or "").parent
        (runtime / name).symlink_to(source)
    env = {
        "BEFRIEND_SECRET": SECRET,
        "BEFRIEND_SITE_URL": "https://prefs.example",
        "BEFRIEND_TABLE": "befriend-package-test",
        "BEFRIEND_MAIL_QUEUE": "https://sqs.eu-west-1.amazonaws.com/123456789012/befriend-mail",
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
    return run_captured(
        [sys.executable, "-I", "-S", *flags, "-c", COLD_START, str(task), str(runtime)]
        + [str(e) for e in events],
        env,
        cwd=tmp_path,
        timeout=120,
    )


def assert_answered(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    (health, health_body), (playbook, playbook_body) = result["answers"]
    assert (health, json.loads(health_body)) == (200, {"status": "ok"})
    assert playbook == 200
    assert {"channels", "purposes"} <= json.loads(playbook_body).keys()
    assert result["elsewhere"] == [], "modules came from outside the zip and the runtime"
    assert result["pygal"] is False, "pygal is for charts; a cold start must not import it"
    assert result["babel"] is False, "Babel is for mails and texts; the API must not import it"


def test_the_zip_answers_a_real_event_in_a_clean_interpreter(
    built: tuple[Path, str], tmp_path: Path
) -> None:
    task = tmp_path / "task"
    with zipfile.ZipFile(built[0]) as archive:
        archive.extractall(task)

    assert set(NATIVE) <= set(native_for_lambda(task))
    assert_answered(cold_start(task, tmp_path))


@pytest.fixture
def read_only(compiled: Package, tmp_path: Path) -> Iterator[Path]:
    """The zip with bytecode unpacked into a task folder nobody may write to, as Lambda's."""
    task = tmp_path / "task"
    with zipfile.ZipFile(compiled.path) as archive:
        archive.extractall(task)
    native_for_lambda(task)
    folders = [task, *(p for p in task.rglob("*") if p.is_dir())]
    for folder in folders:
        folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    yield task
    for folder in folders:
        folder.chmod(stat.S_IRWXU)


def snapshot(task: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in task.rglob("*")}


def test_a_cold_start_loads_the_shipped_bytecode_and_compiles_nothing(
    read_only: Path, tmp_path: Path
) -> None:
    before = snapshot(read_only)

    done = cold_start(read_only, tmp_path, "-v")

    assert_answered(done)
    # `-v` names where each module's code came from: a .pyc, or a source it compiled.
    loaded = re.findall(r"^# code object from '?(.+?)'?$", done.stderr, re.MULTILINE)
    from_task = [path for path in loaded if path.startswith(str(read_only) + os.sep)]
    lambda_app = read_only / "befriend" / "__pycache__" / f"lambda_app.{TAG}.pyc"
    assert str(lambda_app) in from_task
    assert len(from_task) > 50
    assert [path for path in from_task if not path.endswith(f".{TAG}.pyc")] == []
    # Root may write to a read-only folder: what was there must be all that is there.
    assert snapshot(read_only) == before
