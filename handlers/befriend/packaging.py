"""The Lambda package: befriend, the templates the API renders, and its runtime dependencies.

Built from a checkout by `befriend package`. boto3 and what it needs are left out: the Lambda
Python runtime provides them. Dependencies are installed for the function's platform (arm64,
Python 3.12) at the versions this environment has, so the zip holds what the tests ran. The
zip is deterministic: the same inputs give the same bytes (sorted entries, one timestamp).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from befriend.config import PACKAGE, default_templates

LIMIT = 5 * 1024 * 1024
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
# The API renders pages from templates/api and mails from templates/mail; nothing else.
TEMPLATE_FOLDERS = ("api", "mail")
# Zip's earliest date: no build time ends up in the bytes.
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


class PackageError(Exception):
    """The package cannot be built; the message says why."""


@dataclass(frozen=True)
class Package:
    path: Path
    size: int
    files: int
    requirements: tuple[str, ...]


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


def install_dependencies(requirements: Iterable[str], target: Path, pins: str) -> None:
    """pip-install the requirements for Lambda's platform into target, wheels only."""
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
        PYTHON,
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


def contents(package: Path, templates: Path, dependencies: Path) -> dict[str, Path]:
    """What goes in the zip, by name in the zip.

    befriend at the top as Lambda imports it (`befriend.lambda_app.handler`), its templates
    inside it, where `default_templates()` finds them (so BEFRIEND_TEMPLATES is not needed),
    and the dependencies beside it, without their scripts or anything the runtime provides.
    """
    entries: dict[str, Path] = {}
    for path in _files(package):
        entries[f"befriend/{path.relative_to(package).as_posix()}"] = path
    for folder in TEMPLATE_FOLDERS:
        source = templates / folder
        if not source.is_dir():
            raise PackageError(f"{source}: the API's templates are missing")
        for path in _files(source):
            entries[f"befriend/templates/{folder}/{path.relative_to(source).as_posix()}"] = path
    for path in _files(dependencies):
        name = path.relative_to(dependencies).as_posix()
        top = name.split("/", 1)[0]
        if top == "bin" or _PROVIDED_PATHS.fullmatch(top):
            continue
        entries.setdefault(name, path)
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


def build(out_dir: Path, checkout: Path | None = None) -> Package:
    """Build the Lambda zip in out_dir from this checkout and say what it holds."""
    checkout = checkout or PACKAGE.parent.parent
    pyproject = checkout / "pyproject.toml"
    if not pyproject.is_file():
        raise PackageError(f"{pyproject}: not found; run `befriend package` from a checkout")
    requirements = runtime_requirements(pyproject)
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / ZIP_NAME
    with tempfile.TemporaryDirectory(prefix="befriend-package-") as work:
        dependencies = Path(work) / "dependencies"
        install_dependencies(requirements, dependencies, installed_pins())
        entries = contents(PACKAGE, default_templates(), dependencies)
        write_zip(entries, out)
    return Package(out, out.stat().st_size, len(entries), tuple(requirements))
