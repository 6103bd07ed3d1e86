"""Site build and package: how long `befriend build-site` takes, and what the Lambda zip holds.

    .venv/bin/python bench/build_and_package.py      (or `make bench`; --help for options)

Runs the commands as a developer or a deployment would, in fresh interpreters, and writes
the figures into docs/benchmarks.md ("Site build and package"):

- `befriend build-site` into an empty folder, several times, against `befriend --help` (the
  command's own start, the baseline measured in the same run); and `sitegen.build_site`
  in this process, which is the rendering alone.
- `befriend package` once, as a deployment on this machine would run it: the zip's size
  against the limit the command enforces, its size unpacked (what Lambda unpacks into its
  task folder, limited to 250 MB) and what takes the room, by distribution, from the RECORD
  each one ships; and whether it holds bytecode, which the command compiles only with a
  CPython 3.12 (the runtime's), found on PATH.
- What bytecode adds to the zip. If the command shipped it, as built. If not, the zip is
  unpacked and compiled by the command's own step (`packaging.compile_bytecode`), with this
  interpreter standing in for Python 3.12, then zipped again as the command zips: a
  stand-in, labelled so in the section, whose .pyc are of much the same size as 3.12's.

Everything is real; `befriend package` installs the dependencies with pip (from its cache
or index), so its time depends on the network and is given only as an indication.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# `bench` is imported as a package of the checkout, as `befriend` is from handlers/.
sys.path[:0] = [str(ROOT), str(ROOT / "handlers")]

from bench import doc  # noqa: E402

from befriend.build.packaging import (  # noqa: E402
    LIMIT,
    PYTHON,
    ZIP_NAME,
    compile_bytecode,
    find_compiler,
    staged,
    write_zip,
)
from befriend.build.sitegen import build_site  # noqa: E402
from befriend.config import PACKAGE, default_templates  # noqa: E402
from befriend.core.playbook import load_playbook  # noqa: E402

TITLE = "Site build and package"
RUNS = 5
BEFRIEND = [sys.executable, "-c", "from befriend.cli import main; main()"]
UNPACKED_LIMIT = 250 * 1024 * 1024  # Lambda's limit for a function's unpacked code
SHOWN = 10
HERE = f"{sys.version_info.major}.{sys.version_info.minor}"


def befriend(*args: str, timeout: float = 600) -> float:
    """Run the `befriend` command in a fresh interpreter; seconds taken."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PYTHONPATH"] = str(ROOT / "handlers")
    began = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - this interpreter, the project's own command
        [*BEFRIEND, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    took = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"befriend {' '.join(args)} failed:\n{done.stderr}")
    return took


def site_times(work: Path, runs: int) -> tuple[list[float], list[float], list[float], int, int]:
    """(build-site, --help, build_site in process) seconds per run; files and bytes built."""
    build, bare, inside = [], [], []
    pb = load_playbook((PACKAGE / "playbook.toml").read_text(encoding="utf-8"))
    files = size = 0
    for n in range(runs):
        out = work / f"site-{n}"
        build.append(befriend("build-site", "--out", str(out)))
        bare.append(befriend("--help"))
        again = work / f"site-in-{n}"
        began = time.perf_counter()
        written = build_site(pb, default_templates(), again)
        inside.append(time.perf_counter() - began)
        files, size = len(written), sum(p.stat().st_size for p in written)
    return build, bare, inside, files, size


def distributions(archive: zipfile.ZipFile) -> dict[str, tuple[int, int, int]]:
    """(zipped bytes, unpacked bytes, files) by distribution; befriend is what no RECORD
    claims."""
    owner: dict[str, str] = {}
    for name in archive.namelist():
        if name.endswith(".dist-info/RECORD"):
            dist = name.split("/", 1)[0].removesuffix(".dist-info").rsplit("-", 1)[0]
            for line in archive.read(name).decode().splitlines():
                owner[line.split(",", 1)[0]] = dist
    zipped: Counter[str] = Counter()
    unpacked: Counter[str] = Counter()
    files: Counter[str] = Counter()
    for info in archive.infolist():
        dist = owner.get(source_of(info.filename), "befriend (the app and its templates)")
        zipped[dist] += info.compress_size
        unpacked[dist] += info.file_size
        files[dist] += 1
    return {d: (zipped[d], unpacked[d], files[d]) for d in zipped}


def source_of(name: str) -> str:
    """The module a .pyc in the zip was compiled from (RECORD names no .pyc), else name."""
    parts = name.split("/")
    if len(parts) < 2 or parts[-2] != "__pycache__" or not name.endswith(".pyc"):
        return name
    return "/".join([*parts[:-2], parts[-1].split(".", 1)[0] + ".py"])


@dataclass(frozen=True)
class Bytecode:
    shipped: str | None  # the cache tag of the .pyc the command put in the zip, if any
    tag: str  # the tag of the .pyc measured: shipped, or the stand-in's
    files: int
    unpacked: int  # bytes of .pyc
    zipped: int  # what they add to the zip
    seconds: float | None  # compiling them, for the stand-in


def pyc_in(archive: zipfile.ZipFile) -> tuple[int, int, int]:
    """(.pyc files, their bytes, their bytes deflated) in the zip."""
    pyc = [i for i in archive.infolist() if i.filename.endswith(".pyc")]
    return len(pyc), sum(i.file_size for i in pyc), sum(i.compress_size for i in pyc)


def bytecode(archive: zipfile.ZipFile, size: int, work: Path) -> Bytecode:
    """What the zip's bytecode weighs, or would: compiled by this interpreter if the command
    found no Python 3.12, as the command compiles it, and zipped as it zips."""
    tags = {n.rsplit(".", 2)[-2] for n in archive.namelist() if n.endswith(".pyc")}
    if tags:
        return Bytecode(min(tags), min(tags), *pyc_in(archive), None)
    task = work / "stand-in"
    archive.extractall(task)
    compiler = find_compiler(HERE, sys.executable)
    began = time.perf_counter()
    compile_bytecode(task, compiler)
    took = time.perf_counter() - began
    out = work / "stand-in.zip"
    write_zip(staged(task, compiler.tag), out)
    with zipfile.ZipFile(out) as again:
        files, unpacked, _ = pyc_in(again)
    return Bytecode(None, str(compiler.tag), files, unpacked, out.stat().st_size - size, took)


def main(argv: Sequence[str] | None = None) -> list[doc.Verdict]:
    args = doc.options(__doc__, "one build", (RUNS, "site builds timed")).parse_args(argv)
    runs = 1 if args.quick else args.runs
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-build-") as folder:
        work = Path(folder)
        doc.say("site: building")
        site = site_times(work, runs)
        doc.say("package: building")
        packaged = befriend("package", "--out", str(work / "dist"))
        with zipfile.ZipFile(work / "dist" / ZIP_NAME) as archive:
            size = (work / "dist" / ZIP_NAME).stat().st_size
            unpacked = sum(i.file_size for i in archive.infolist())
            count = len(archive.infolist())
            dists = distributions(archive)
            doc.say("package: bytecode")
            pyc = bytecode(archive, size, work)
    lines, verdicts = report(
        site, packaged, (size, unpacked, count), dists, pyc, time.perf_counter() - started
    )
    doc.publish(TITLE, lines, trial=args.no_doc or args.quick)
    return verdicts


def _kb(size: int) -> str:
    return f"{size / 1024:,.0f}"


def report(
    site: tuple[list[float], list[float], list[float], int, int],
    packaged: float,
    zipped: tuple[int, int, int],
    dists: dict[str, tuple[int, int, int]],
    pyc: Bytecode,
    total: float,
) -> tuple[list[str], list[doc.Verdict]]:
    build, bare, inside, files, built = site
    size, unpacked, count = zipped
    b, h, i = (statistics.median(x) for x in (build, bare, inside))
    biggest = sorted(dists.items(), key=lambda d: d[1][1], reverse=True)[:SHOWN]
    rest = [d for d in dists.items() if d not in biggest]
    rows = [[name, _kb(z), _kb(u), f"{n:,}", f"{u / unpacked:.0%}"] for name, (z, u, n) in biggest]
    if rest:
        rows.append(
            [
                f"{len(rest)} others",
                _kb(sum(z for _, (z, _, _) in rest)),
                _kb(sum(u for _, (_, u, _) in rest)),
                f"{sum(n for _, (_, _, n) in rest):,}",
                f"{sum(u for _, (_, u, _) in rest) / unpacked:.0%}",
            ]
        )
    with_pyc = size + pyc.zipped if pyc.shipped is None else size
    if pyc.shipped:
        held = f"with {pyc.shipped} bytecode"
        said = (
            f"Bytecode: the zip ships {pyc.files:,} {pyc.tag} .pyc beside the sources, "
            f"compiled by the Python {PYTHON} the command found (see Cold start for what they "
            f"save): {_kb(pyc.unpacked)} KB, {_kb(pyc.zipped)} KB of the zip."
        )
    else:
        held = (
            f"sources only, no Python {PYTHON} on PATH here to compile with (with bytecode, a "
            f"stand-in's: {with_pyc / 1024 / 1024:.2f} MB, {with_pyc / LIMIT:.0%})"
        )
        said = (
            f"Bytecode: **none in this zip**: the command found no CPython {PYTHON} (the "
            "runtime's) on this machine's PATH to compile with, so it shipped sources only, "
            "and every cold start compiles what it imports (see Cold start for what that "
            "costs). "
            "What bytecode would add, measured with a stand-in: the zip unpacked, compiled by "
            f"the command's own step with this machine's Python {HERE} ({pyc.tag}) in place "
            f"of {PYTHON}, whose .pyc are of much the same size, and zipped again as the "
            f"command zips: {pyc.files:,} .pyc of {_kb(pyc.unpacked)} KB, "
            f"{_kb(pyc.zipped)} KB more zipped, a zip of {with_pyc / 1024 / 1024:.2f} MB, "
            f"{with_pyc / LIMIT:.0%} of the limit; compiling took {pyc.seconds or 0:.1f} s."
        )
    verdicts = [
        doc.Verdict(
            f"Lambda zip under the {LIMIT / 1024 / 1024:.0f} MB limit `befriend package` enforces",
            size < LIMIT,
            f"{size / 1024 / 1024:.2f} MB, {size / LIMIT:.0%} of the limit, {held}; "
            f"{unpacked / 1024 / 1024:.1f} MB unpacked",
        )
    ]
    lines = [
        doc.machine("build_and_package.py", total, "(not used)"),
        "",
        f"`befriend build-site` into an empty folder, in a fresh interpreter: "
        f"**{b * 1000:.0f} ms** (median of {len(build)}; {files} files, {_kb(built)} KB), "
        f"**{b / h:.2f}×** the {h * 1000:.0f} ms of `befriend --help` measured in turns "
        f"with it (the command's own start). Rendering alone, `sitegen.build_site` in a warm "
        f"process, takes {i * 1000:.0f} ms.",
        "",
        f"`befriend package`: **{size / 1024 / 1024:.2f} MB** zipped ({size:,} bytes, "
        f"{size / LIMIT:.0%} of the {LIMIT:,}-byte limit), {unpacked / 1024 / 1024:.1f} MB "
        f"in {count:,} files unpacked ({unpacked / UNPACKED_LIMIT:.1%} of Lambda's 250 MB); "
        f"built in {packaged:.0f} s (pip, from its cache here). boto3 and its dependencies "
        "are not in it: the Lambda runtime provides them. By distribution, biggest unpacked "
        "first:",
        "",
        *doc.table(
            ["distribution", "zipped (KB)", "unpacked (KB)", "files", "of the unpacked"], rows
        ),
        "",
        said,
        "",
        *(v.line() for v in verdicts),
    ]
    return lines, verdicts


if __name__ == "__main__":
    main()
