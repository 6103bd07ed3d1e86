"""Site build and package: how long `befriend build-site` takes, and what the Lambda zip holds.

    .venv/bin/python bench/build_and_package.py      (or `make bench`; --help for options)

Runs the commands as a developer or a deployment would, in fresh interpreters, and writes
the figures into docs/benchmarks.md ("Site build and package"):

- `befriend build-site` into an empty folder, several times, against `befriend --help` (the
  command's own start, the baseline measured in the same run); and `sitegen.build_site`
  in this process, which is the rendering alone.
- `befriend package` once: the zip's size against the limit the command enforces, its size
  unpacked (what Lambda unpacks into its task folder, limited to 250 MB) and what takes the
  room, by distribution, from the RECORD each one ships. And what shipping bytecode would
  add: every .py of the zip compiled by this interpreter and deflated as the zip does (the
  package targets Python 3.12, whose .pyc are of much the same size).

Everything is real; `befriend package` installs the dependencies with pip (from its cache
or index), so its time depends on the network and is given only as an indication.
"""

from __future__ import annotations

import argparse
import marshal
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# `bench` is imported as a package of the checkout, as `befriend` is from handlers/.
sys.path[:0] = [str(ROOT), str(ROOT / "handlers")]

from bench import doc  # noqa: E402

from befriend.config import PACKAGE, default_templates  # noqa: E402
from befriend.core.playbook import load_playbook  # noqa: E402
from befriend.packaging import LIMIT, ZIP_NAME  # noqa: E402
from befriend.sitegen import build_site  # noqa: E402

TITLE = "Site build and package"
RUNS = 5
BEFRIEND = [sys.executable, "-c", "from befriend.cli import main; main()"]
UNPACKED_LIMIT = 250 * 1024 * 1024  # Lambda's limit for a function's unpacked code
SHOWN = 10


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
        dist = owner.get(info.filename, "befriend (the app and its templates)")
        zipped[dist] += info.compress_size
        unpacked[dist] += info.file_size
        files[dist] += 1
    return {d: (zipped[d], unpacked[d], files[d]) for d in zipped}


def bytecode_cost(archive: zipfile.ZipFile) -> tuple[int, int, int]:
    """(modules compiled, .pyc bytes, bytes deflated) were every .py shipped with its .pyc."""
    count = raw = deflated = 0
    for name in archive.namelist():
        if not name.endswith(".py"):
            continue
        try:
            code = compile(archive.read(name), name, "exec", dont_inherit=True)
        except SyntaxError:
            continue
        pyc = b"\0" * 16 + marshal.dumps(code)  # a .pyc: 16 bytes of header, then the code
        packer = zlib.compressobj(9, zlib.DEFLATED, -15)
        count += 1
        raw += len(pyc)
        deflated += len(packer.compress(pyc) + packer.flush())
    return count, raw, deflated


def main(argv: Sequence[str] | None = None) -> list[doc.Verdict]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--runs", type=int, default=RUNS, help="site builds timed")
    parser.add_argument("--quick", action="store_true", help="one build; leaves the doc alone")
    parser.add_argument("--no-doc", action="store_true", help="print only; leave the doc alone")
    args = parser.parse_args(argv)
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
            pyc = bytecode_cost(archive)
    lines, verdicts = report(
        site, packaged, (size, unpacked, count), dists, pyc, time.perf_counter() - started
    )
    print("\n".join(lines))
    if not (args.no_doc or args.quick):
        doc.write_section(TITLE, lines)
        doc.say(f"written to {doc.DOC.relative_to(ROOT)}")
    return verdicts


def _kb(size: int) -> str:
    return f"{size / 1024:,.0f}"


def report(
    site: tuple[list[float], list[float], list[float], int, int],
    packaged: float,
    zipped: tuple[int, int, int],
    dists: dict[str, tuple[int, int, int]],
    pyc: tuple[int, int, int],
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
    verdicts = [
        doc.Verdict(
            f"Lambda zip under the {LIMIT / 1024 / 1024:.0f} MB limit `befriend package` enforces",
            size < LIMIT,
            f"{size / 1024 / 1024:.2f} MB, {size / LIMIT:.0%} of the limit; "
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
        f"Shipping bytecode beside the sources (see Cold start for what it saves) would add "
        f"{pyc[0]:,} .pyc of {_kb(pyc[1])} KB, {_kb(pyc[2])} KB zipped: a zip of about "
        f"{(size + pyc[2]) / 1024 / 1024:.2f} MB, still {(size + pyc[2]) / LIMIT:.0%} of "
        "the limit.",
        "",
        *(v.line() for v in verdicts),
    ]
    return lines, verdicts


if __name__ == "__main__":
    main()
