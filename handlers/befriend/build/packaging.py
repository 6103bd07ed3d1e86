"""The Lambda package: befriend, the templates the API renders, and its runtime dependencies.

Built from a checkout by `befriend package`. boto3 and what it needs are left out: the Lambda
Python runtime provides them. Dependencies are installed for the function's platform (arm64,
Python 3.12) at the versions this environment has, so the zip holds what the tests ran.

The zip carries bytecode when a CPython of the runtime's version can compile it (`python3.12`
on PATH, or one named with `--python`): Lambda's task folder is read-only, so without .pyc
every cold start compiles each module it imports, and with them it only loads them. The .pyc
are unchecked-hash ones (PEP 552): the zip's timestamps are fixed, so timestamp-checked .pyc
would look stale, and nothing in the task folder changes after the deploy. Bytecode of any
other version is never shipped: the runtime would ignore it, and it would only add weight.
Without such an interpreter the zip holds sources only, and the build says so.

Of Babel, which writes dates and numbers in mails and texts, the zip carries the code that
runs and the CLDR data of the playbook's languages (`befriend/playbook.toml`'s, as shipped),
each with the locales it inherits from and root (for the default playbook 1.4 MB of its
36 MB, global.dat included). A language a playbook names later is written in the default
language's locale.

The zip is deterministic: the same inputs give the same bytes (sorted entries, one timestamp;
bytecode compiled in one process in sorted order, with one hash seed, naming its sources by
where Lambda unpacks them rather than by the temporary folder they were compiled in).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.core import get_global, parse_locale

from befriend.config import PACKAGE, default_templates
from befriend.core.errors import PlaybookError
from befriend.core.playbook import load_playbook

# The zip's own budget, far below Lambda's 50 MB: a smaller package starts faster. It was
# 5 MiB until phone numbers came; phonenumbers' metadata for every region (a module each,
# with its bytecode) is about 2 MB of it.
LIMIT = 7 * 1024 * 1024
ZIP_NAME = "befriend-lambda.zip"
PLATFORM = "manylinux2014_aarch64"
PYTHON = "3.12"
# In every Lambda Python runtime already; a copy in the zip would only add weight.
RUNTIME_PROVIDED = frozenset(
    {"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six"}
)
# The top-level names those distributions install, as they appear in the install folder.
_PROVIDED_PATHS = re.compile(
    r"(boto3|botocore|s3transfer|jmespath|urllib3|dateutil|six\.py"
    r"|(boto3|botocore|s3transfer|jmespath|urllib3|python_dateutil|six)-[^/]*\.dist-info)",
    re.IGNORECASE,
)
# Parts of dependencies befriend never loads: type stubs, and phonenumbers' short-number
# metadata (emergency and service codes; its loader module stays, as phonenumbers imports
# it, while each region's data is loaded only when a short number is asked about, which
# befriend never does). Together about a third of the zip.
# babel/messages is the catalogs' tooling (extraction, .po and .mo files), which runs where
# the catalogs are made; a Lambda reads the compiled .mo with the standard library.
_UNUSED = re.compile(r".*\.pyi|phonenumbers/shortdata/region_[^/]*\.py|babel/messages/.*")
# Babel's CLDR data: a pickle per locale, 36 MB for its 1,100 or so. The zip carries only
# those the playbook's languages read (`babel_locales`); global.dat, which every one needs,
# stays whole.
_LOCALE_DATA = re.compile(r"babel/locale-data/([^/]+)\.dat")
# The API renders pages from templates/api and mails from templates/mail; nothing else.
TEMPLATE_FOLDERS = ("api", "mail")
# Zip's earliest date: no build time ends up in the bytes.
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
# Where Lambda unpacks the zip: the source name compiled into each .pyc (the import system
# puts the real one in when it loads it); a temporary folder's would differ from build to build.
TASK_ROOT = "/var/task"


class PackageError(Exception):
    """The package cannot be built; the message says why."""


@dataclass(frozen=True)
class Compiler:
    """The interpreter that compiles the package's bytecode, or why there is none."""

    python: str | None  # its path; None: the zip ships sources only
    tag: str | None  # the cache tag of the .pyc it writes, as `cpython-312`
    note: str  # which interpreter, or why none, for the command to say


@dataclass(frozen=True)
class Package:
    path: Path
    size: int
    files: int
    requirements: tuple[str, ...]
    bytecode: str | None  # the cache tag of the .pyc in the zip; None: sources only
    note: str  # how the bytecode was compiled, or why it was not


def canonical(name: str) -> str:
    """A distribution name as PyPI compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    found = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if found is None:
        raise PackageError(f"cannot read the requirement {requirement!r}")
    return canonical(found.group(1))


def runtime_requirements(pyproject: Path) -> list[str]:
    """`[project].dependencies` less what the Lambda runtime provides."""
    try:
        project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    except (OSError, KeyError, tomllib.TOMLDecodeError) as exc:
        raise PackageError(f"{pyproject}: cannot read [project] ({exc})") from exc
    return [req for req in project["dependencies"] if requirement_name(req) not in RUNTIME_PROVIDED]


def installed_pins() -> str:
    """`name==version` for every distribution here: pip constraints that hold each package
    (dependencies of dependencies too) at the version the tests ran against."""
    pins = {
        canonical(dist.metadata["Name"]): dist.version
        for dist in metadata.distributions()
        if dist.metadata["Name"] and canonical(dist.metadata["Name"]) != "befriend"
    }
    return "".join(f"{name}=={version}\n" for name, version in sorted(pins.items()))


def cache_tag(version: str) -> str:
    """The tag of the .pyc CPython `version` imports, as `cpython-312` for "3.12"."""
    return "cpython-" + version.replace(".", "")


def _tag_of(python: str) -> str | None:
    """The cache tag of the interpreter at python, or None if it does not run."""
    try:
        done = subprocess.run(  # noqa: S603 - an interpreter the builder named or has on PATH
            [python, "-c", "import sys; print(sys.implementation.cache_tag)"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    tag = done.stdout.strip()
    return tag if done.returncode == 0 and tag else None


def find_compiler(version: str = PYTHON, python: str | None = None) -> Compiler:
    """The CPython `version` to compile the bytecode with: python if given (refused if it is
    another version), else `python<version>` on PATH; none if that is missing or does not run
    (a version manager's shim may be on PATH without the version it names)."""
    wanted = cache_tag(version)
    if python is not None:
        found = shutil.which(python)
        tag = _tag_of(found) if found else None
        if found is None or tag is None:
            raise PackageError(f"{python}: not an interpreter that runs")
        if tag != wanted:
            raise PackageError(
                f"{python} writes {tag} bytecode; the runtime is CPython {version} "
                f"({wanted}) and would ignore it"
            )
        return Compiler(found, tag, f"bytecode: {tag}, compiled by {found}")
    name = f"python{version}"
    found = shutil.which(name)
    if found is None:
        return Compiler(None, None, f"no bytecode: {name} is not on PATH (see --python)")
    tag = _tag_of(found)
    if tag != wanted:
        said = f"writes {tag} bytecode" if tag else "does not run"
        return Compiler(None, None, f"no bytecode: {found} {said} (see --python)")
    return Compiler(found, tag, f"bytecode: {tag}, compiled by {found}")


def install_dependencies(
    requirements: Iterable[str], target: Path, pins: str, version: str = PYTHON
) -> None:
    """pip-install the requirements for Lambda's platform and Python into target, wheels only."""
    constraints = target.parent / "constraints.txt"
    constraints.write_text(pins, encoding="utf-8")
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        "--target",
        str(target),
        "--platform",
        PLATFORM,
        "--python-version",
        version,
        "--implementation",
        "cp",
        "--only-binary=:all:",
        "--constraint",
        str(constraints),
        *requirements,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise PackageError(f"pip could not install the dependencies:\n{done.stderr.strip()}")


def _files(root: Path) -> Iterator[Path]:
    """Regular files under root, without bytecode caches."""
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if "__pycache__" in rel.parts or path.suffix == ".pyc" or not path.is_file():
            continue
        yield path


def playbook_languages(package: Path) -> tuple[str, ...]:
    """The languages of the playbook the zip carries (`befriend/playbook.toml`), its default
    first: the ones its mails and texts are written in."""
    source = package / "playbook.toml"
    try:
        playbook = load_playbook(source.read_text(encoding="utf-8"))
    except (OSError, PlaybookError) as exc:
        raise PackageError(f"{source}: cannot read the playbook's languages ({exc})") from exc
    return playbook.organisation.site_languages


def _parent_locale(name: str) -> str:
    """The locale `name` inherits from, by the rules `babel.localedata.load` follows: CLDR's
    parent exceptions (`es_MX` -> `es_419`), then a language with a script that is not its
    likely one straight to root (`sr_Latn`), else the name less its last part (`de_AT` ->
    `de`), and a bare language's parent is root."""
    exception = get_global("parent_exceptions").get(name)
    if exception:
        return str(exception)
    language, territory, script, variant, *rest = parse_locale(name)
    if script and not (territory or variant or rest):
        likely = get_global("likely_subtags").get(language)
        if likely is not None and parse_locale(likely)[2] != script:
            return "root"
    parts = name.split("_")
    return "root" if len(parts) == 1 else "_".join(parts[:-1])


def babel_locales(languages: Iterable[str]) -> frozenset[str]:
    """The locale data (`babel/locale-data/<name>.dat`) that formatting in `languages` reads:
    each one's locale as `babel.Locale.parse` names it at run time (`pt-BR` is `pt_BR`,
    `zh-TW` is `zh_Hant_TW`), every locale it inherits from, and root. A tag CLDR does not
    know (a pseudo-locale) needs none: it is written in the default language's locale."""
    needed = {"root"}
    for code in languages:
        try:
            name = str(Locale.parse(code, sep="-"))
        except (UnknownLocaleError, ValueError):
            continue
        while name != "root":
            needed.add(name)
            name = _parent_locale(name)
    return frozenset(needed)


def contents(
    package: Path,
    templates: Path,
    dependencies: Path,
    locales: Collection[str] | None = None,
) -> dict[str, Path]:
    """What goes in the zip, by name in the zip.

    befriend at the top as Lambda imports it (`befriend.lambda_app.handler`), its templates
    inside it, where `default_templates()` finds them (so BEFRIEND_TEMPLATES is not needed),
    and the dependencies beside it, without their scripts or anything the runtime provides;
    of Babel's locale data, only the locales named (all when None).
    """
    entries: dict[str, Path] = {}
    for path in _files(package):
        rel = path.relative_to(package)
        # Of the translation catalogs, only the compiled ones run; the rest is for makers.
        if rel.parts[0] == "locales" and path.suffix != ".mo":
            continue
        entries[f"befriend/{rel.as_posix()}"] = path
    for folder in TEMPLATE_FOLDERS:
        source = templates / folder
        if not source.is_dir():
            raise PackageError(f"{source}: the API's templates are missing")
        for path in _files(source):
            entries[f"befriend/templates/{folder}/{path.relative_to(source).as_posix()}"] = path
    for path in _files(dependencies):
        name = path.relative_to(dependencies).as_posix()
        top = name.split("/", 1)[0]
        if top == "bin" or _PROVIDED_PATHS.fullmatch(top) or _UNUSED.fullmatch(name):
            continue
        data = _LOCALE_DATA.fullmatch(name)
        if data and locales is not None and data.group(1) not in locales:
            continue
        entries.setdefault(name, path)
    return entries


def stage(entries: dict[str, Path], task: Path) -> None:
    """Copy entries into task as Lambda will unpack them, for the bytecode to be compiled."""
    for name, source in entries.items():
        target = task / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)


def trim_records(task: Path) -> None:
    """Make each distribution's RECORD name only the files the zip holds: the parts left out
    (Babel's other locales, type stubs, short-number data) would otherwise be listed, and
    Babel's full list alone is 100 KB."""
    for record in sorted(task.glob("*.dist-info/RECORD")):
        lines = record.read_text(encoding="utf-8").splitlines(keepends=True)
        kept = [line for line in lines if (task / line.split(",", 1)[0]).is_file()]
        record.write_text("".join(kept), encoding="utf-8")


def compile_bytecode(task: Path, compiler: Compiler) -> None:
    """Write an unchecked-hash .pyc beside every module in task, with compiler's Python."""
    if compiler.python is None:
        return
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    # One hash seed: nothing in the bytes may depend on a random one.
    env["PYTHONHASHSEED"] = "0"
    # One process, no `-j`: marshal flags an object for reuse by its reference count, which
    # depends on the files compiled before it in the same process (CPython issue 129724), so
    # only one fixed order (compileall's, sorted) gives the same bytes from build to build.
    command = [
        compiler.python,
        "-m",
        "compileall",
        "-q",
        "--invalidation-mode",
        "unchecked-hash",
        "-d",
        TASK_ROOT,
        str(task),
    ]
    done = subprocess.run(  # noqa: S603 - the interpreter find_compiler checked
        command, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        said = (done.stdout + done.stderr).strip()
        raise PackageError(f"{compiler.python} could not compile the package:\n{said}")


def staged(task: Path, tag: str | None) -> dict[str, Path]:
    """What goes in the zip from the staged task folder: every file but bytecode, and the
    .pyc of tag in `__pycache__` folders when the package ships bytecode."""
    entries: dict[str, Path] = {}
    for path in sorted(task.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(task)
        if "__pycache__" in rel.parts or path.suffix == ".pyc":
            compiled = tag is not None and rel.parent.name == "__pycache__"
            if not (compiled and path.name.endswith(f".{tag}.pyc")):
                continue
        entries[rel.as_posix()] = path
    return entries


def write_zip(entries: dict[str, Path], out: Path) -> None:
    """A zip of entries with sorted names, one timestamp and one file mode: reproducible."""
    partial = out.with_name(out.name + ".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so the mode below is read
            info.external_attr = 0o100644 << 16  # a regular file Lambda's user can read
            archive.writestr(info, entries[name].read_bytes(), compresslevel=9)
    partial.replace(out)


def build(
    out_dir: Path,
    checkout: Path | None = None,
    python: str | None = None,
    version: str = PYTHON,
) -> Package:
    """Build the Lambda zip in out_dir from this checkout and say what it holds.

    version is the runtime's Python, which the dependencies and the bytecode are for; python
    the interpreter to compile with (see `find_compiler`). Tests pass their own interpreter
    and its version, to check bytecode where no Python 3.12 is installed.
    """
    checkout = checkout or PACKAGE.parent.parent
    pyproject = checkout / "pyproject.toml"
    if not pyproject.is_file():
        raise PackageError(f"{pyproject}: not found; run `befriend package` from a checkout")
    requirements = runtime_requirements(pyproject)
    compiler = find_compiler(version, python)
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / ZIP_NAME
    with tempfile.TemporaryDirectory(prefix="befriend-package-") as work:
        dependencies = Path(work) / "dependencies"
        install_dependencies(requirements, dependencies, installed_pins(), version)
        task = Path(work) / "task"
        locales = babel_locales(playbook_languages(PACKAGE))
        stage(contents(PACKAGE, default_templates(), dependencies, locales), task)
        trim_records(task)
        compile_bytecode(task, compiler)
        entries = staged(task, compiler.tag)
        write_zip(entries, out)
    return Package(
        out,
        out.stat().st_size,
        len(entries),
        tuple(requirements),
        compiler.tag,
        compiler.note,
    )
