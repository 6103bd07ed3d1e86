"""Cold start: a fresh interpreter importing the Lambda entry and answering its first event.

    .venv/bin/python bench/cold_start.py      (or `make bench`; --help for options)

Starts moto's server on a loopback port, creates the table and one demo person in it, then
starts fresh interpreters, in turns, many times each, that import an entry module as
Lambda's runtime does (`importlib.import_module`) and hand its handler one real API Gateway
event, and writes the medians into docs/benchmarks.md ("Cold start"). The entry modules:

- befriend: `befriend.lambda_app` as it ships, which builds the app from the environment as
  in Lambda, with the garbage collector off while it imports and builds, then the objects
  made frozen out of the collector's reach (`gc.freeze()`).
- the baseline: the least a Python API on Lambda can be, a bare Flask app behind apig-wsgi
  whose route makes one boto3 DynamoDB client and reads the same item with one GetItem.
- befriend with the collector not frozen: a measurement-only wrapper, written beside the
  baseline and never shipped, that makes `gc.disable()` and `gc.freeze()` do nothing, then
  imports `befriend.lambda_app`: befriend as it was before lambda_app.py froze the
  collector's objects, to show what that is worth.

The events: tests/events/http-api-v2-me.json with a valid manage token (GET /api/me, which
reads the person with one GetItem), and http-api-v2-health.json (no DynamoDB). Both answer
from the same moto server, in the same environment. Each is run with and without bytecode:

- with bytecode: every module's .pyc is there (a warm-up run wrote them), as when the
  package ships .pyc compiled for the runtime's Python;
- without: the standard library and what the Lambda runtime provides (boto3, botocore and
  their dependencies) have their .pyc, everything the zip ships (befriend, Flask, Jinja2, …)
  is compiled from source on every start and the .pyc is never written, as with a zip
  `befriend package` built without a Python 3.12 to compile with: it ships no .pyc then, and
  Lambda's /var/task is read-only.

Each interpreter gets its own `-X pycache_prefix` folder, so the .pyc beside the sources of
this checkout are neither used nor touched. Each run's processor time (user and system, from
`getrusage`) is what the verdicts rest on: the machine is shared, and the time a caller
waits, also measured, grows with whatever else it runs. `-X importtime` runs of each entry
module show where import time goes.

What is real: the interpreter, the code, the event, boto3 making its client and sending the
request over HTTP to moto's server. What is not: Lambda's runtime (its bootstrap, its
sandbox, the first read of the package from its storage; here every file is in the page
cache after the first run) and DynamoDB's latency (moto on loopback answers in about a
millisecond). So the figures compare befriend with the baseline on this machine; they are
not the cold start a Lambda function would see.
"""

from __future__ import annotations

import json
import logging
import os
import re
import resource
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# `bench` is imported as a package of the checkout, as `befriend` is from handlers/.
sys.path[:0] = [str(ROOT), str(ROOT / "handlers")]
from bench import (  # noqa: E402
    doc,
    offline,  # noqa: F401  (before any boto3 client)
)
from moto.server import ThreadedMotoServer  # noqa: E402

from befriend.clock import system_clock  # noqa: E402
from befriend.config import PACKAGE  # noqa: E402
from befriend.core.playbook import load_playbook  # noqa: E402
from befriend.credentials.tokens import Tokens  # noqa: E402
from befriend.local.demo import seed  # noqa: E402
from befriend.store import Store  # noqa: E402

TITLE = "Cold start"
RUNS = 15
TARGET = 1.3  # befriend's cold start may take at most this many times the baseline's
REGION = "eu-west-1"
TABLE = "bench-cold-start"
SECRET = "bench-secret-that-is-long-enough-0123456789"
EVENTS = ROOT / "tests" / "events"
# The event each cold start answers first: one that reads DynamoDB, and one that does not.
ROUTES = {"/api/me": "http-api-v2-me.json", "/api/health": "http-api-v2-health.json"}
# What the Lambda Python runtime provides, by import name: its .pyc are there either way.
RUNTIME = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
SHOWN = 15  # imports listed from -X importtime
IMPORT_RUNS = 7  # cold starts under -X importtime, for each program

# What each interpreter runs: it imports the entry module as Lambda's runtime does
# (`importlib.import_module`: how a module is imported shifts when the collector's full
# collections fall, and for befriend that moves its import time by tens of milliseconds),
# times that and the first answer, prints them and leaves at once (os._exit: Lambda never
# tears an interpreter down, so neither is that timed).
RUNNER = """
import importlib, json, os, sys, time
calls = []
if os.environ.get("BENCH_COUNT"):
    import boto3
    boto3.setup_default_session()
    def count(model, **_):
        calls.append(f"{model.service_model.service_name}.{model.name}")
    boto3.DEFAULT_SESSION.events.register("before-call", count)
started = time.perf_counter()
entry = importlib.import_module(sys.argv[1])
imported = time.perf_counter()
with open(sys.argv[2], encoding="utf-8") as source:
    answer = entry.handler(json.load(source), None)
answered = time.perf_counter()
print(json.dumps({"init": imported - started, "first": answered - imported,
                  "status": answer["statusCode"], "body": answer["body"], "calls": calls,
                  "pygal": "pygal" in sys.modules}))
sys.stdout.flush()
os._exit(0)
"""

# The baseline's entry module, written beside the event files (the interpreters' cwd).
BASELINE = """
import json
import os

import boto3
from apig_wsgi import make_lambda_handler
from flask import Flask

app = Flask(__name__)
clients = []


@app.get("/api/health")
def health():
    return {"status": "ok"}


@app.get("/api/me")
def me():
    if not clients:
        clients.append(boto3.client("dynamodb"))
    item = clients[0].get_item(
        TableName=os.environ["BEFRIEND_TABLE"],
        Key={"pk": {"S": "P#" + os.environ["BENCH_PERSON"]}, "sk": {"S": "PROFILE"}},
        ConsistentRead=True,
    )["Item"]
    return json.loads(item["doc"]["S"])


handler = make_lambda_handler(app, binary_support=True)
"""

# Measurement only, never shipped: befriend as it was before lambda_app.py turned the
# collector off while importing and froze what that made, to show what the change is worth.
# Written beside the baseline; lambda_app's `gc.enable()` is left alone, the collector
# being on already.
UNFROZEN = """
import gc

disable, freeze = gc.disable, gc.freeze
gc.disable = gc.freeze = lambda: None
try:
    from befriend.lambda_app import handler
finally:
    gc.disable, gc.freeze = disable, freeze
"""

UNFROZEN_NAME = "befriend, collector not frozen"
# The entry module of each program.
PROGRAMS = {
    "befriend": "befriend.lambda_app",
    UNFROZEN_NAME: "befriend_unfrozen",
    "baseline": "baseline_app",
}
MODES = ("with bytecode", "without bytecode")


@dataclass(frozen=True)
class Run:
    wall: float  # from starting the interpreter to its answer and exit
    cpu: float  # the processor time the interpreter used (user and system)
    init: float  # importing (and, for befriend, building the app)
    first: float  # answering the first event
    status: int
    body: str
    calls: tuple[str, ...]
    pygal: bool


@dataclass
class Setup:
    work: Path
    env: dict[str, str]
    events: dict[str, Path]  # by route
    person: str
    full: Path  # a pycache prefix holding every module's .pyc
    runtime: Path  # one holding only the standard library's and the runtime's


def prepare(work: Path, endpoint: str) -> Setup:
    """The table and one demo person in moto's server, and the event with their token."""
    store = Store(TABLE, endpoint_url=endpoint, region=REGION)
    store.create_table()
    playbook = load_playbook((PACKAGE / "playbook.toml").read_text(encoding="utf-8"))
    now = system_clock()
    (person_id,) = seed(store, playbook, SECRET, now, people=1)
    person = store.person(person_id, now)
    assert person is not None
    token = Tokens(SECRET, system_clock).issue("manage", person_id, person.token_generation)
    (work / "baseline_app.py").write_text(BASELINE, encoding="utf-8")
    (work / "befriend_unfrozen.py").write_text(UNFROZEN, encoding="utf-8")
    events = {}
    for route, name in ROUTES.items():
        events[route] = work / name
        text = (EVENTS / name).read_text(encoding="utf-8").replace("{{token}}", token)
        events[route].write_text(text, encoding="utf-8")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(work),
        "PYTHONPATH": str(ROOT / "handlers"),
        "BEFRIEND_SECRET": SECRET,
        "BEFRIEND_TABLE": TABLE,
        "BEFRIEND_SITE_URL": "https://prefs.example",
        # Named, never called while importing or reading: the API queues only sign-up mail.
        "BEFRIEND_MAIL_QUEUE": "https://sqs.eu-west-1.amazonaws.com/123456789012/bench-mail",
        "BENCH_PERSON": person_id,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_SESSION_TOKEN": "bench",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    return Setup(work, env, events, person_id, work / "pyc-all", work / "pyc-runtime")


def run(setup: Setup, program: str, route: str, prefix: Path, **env: str) -> Run:
    """One fresh interpreter; -B so that what it compiles is never written, as in Lambda."""
    command = [sys.executable, "-B", "-X", f"pycache_prefix={prefix}"]
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - this interpreter, our own program
        [*command, "-c", RUNNER, PROGRAMS[program], str(setup.events[route])],
        env={**setup.env, **env},
        cwd=setup.work,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    wall = time.perf_counter() - started
    # The interpreter has been waited for: the children's usage grew by exactly its own.
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime
    if done.returncode != 0:
        raise SystemExit(f"{program} failed:\n{done.stderr}")
    said = json.loads(done.stdout.strip().splitlines()[-1])
    found = Run(
        wall,
        cpu,
        said["init"],
        said["first"],
        said["status"],
        said["body"],
        tuple(said["calls"]),
        said["pygal"],
    )
    body = json.loads(found.body) if found.status == 200 else {}
    if body.get("id", body.get("status")) != ("ok" if route == "/api/health" else setup.person):
        raise SystemExit(f"{program} answered {found.status}: {found.body[:300]}")
    return found


def bytecode(setup: Setup) -> None:
    """Warm-up runs that write every .pyc into `full`, then `runtime`: a copy of it with only
    the standard library's and the Lambda runtime's."""
    for program in PROGRAMS:
        command = [sys.executable, "-X", f"pycache_prefix={setup.full}"]
        subprocess.run(  # noqa: S603
            [*command, "-c", RUNNER, PROGRAMS[program], str(setup.events["/api/me"])],
            env=setup.env,
            cwd=setup.work,
            capture_output=True,
            check=True,
            timeout=120,
        )
    paths = sysconfig.get_paths()
    purelib = Path(paths["purelib"]).resolve()
    # Not platstdlib: in a virtual environment that is the folder holding site-packages.
    keep = [Path(paths["stdlib"]).resolve(), *(purelib / name for name in RUNTIME)]
    keep.append(purelib / "six.py")
    for pyc in setup.full.rglob("*.pyc"):
        source_dir = (Path("/") / pyc.parent.relative_to(setup.full)).resolve()
        source = source_dir / (pyc.name.split(".", 1)[0] + ".py")
        if any(source == k or source.is_relative_to(k) for k in keep):
            target = setup.runtime / pyc.relative_to(setup.full)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(pyc, target)


def shipped_pyc(setup: Setup) -> tuple[int, int]:
    """(files, bytes) of the .pyc that a package shipping bytecode would add for the modules
    a cold start imports: those in `full` but not in `runtime`."""
    kept = {p.relative_to(setup.runtime) for p in setup.runtime.rglob("*.pyc")}
    extra = [p for p in setup.full.rglob("*.pyc") if p.relative_to(setup.full) not in kept]
    return len(extra), sum(p.stat().st_size for p in extra)


@dataclass(frozen=True)
class Import:
    name: str
    own: int  # microseconds
    cumulative: int
    depth: int


def importtime(setup: Setup, program: str) -> list[Import]:
    """`python -X importtime` of one cold start, with bytecode."""
    command = [sys.executable, "-B", "-X", f"pycache_prefix={setup.full}", "-X", "importtime"]
    # An import statement: -X importtime does not see the module importlib.import_module
    # itself imports, only what that one imports.
    done = subprocess.run(  # noqa: S603
        [*command, "-c", f"import {PROGRAMS[program]}"],
        env=setup.env,
        cwd=setup.work,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    found = []
    for line in done.stderr.splitlines():
        hit = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if hit:
            own, cumulative, indent, name = hit.groups()
            found.append(Import(name, int(own), int(cumulative), len(indent) // 2))
    return found


def importtimes(setup: Setup, program: str, runs: int) -> list[Import]:
    """Each module's median own and cumulative import time over `runs` cold starts."""
    seen: dict[str, list[Import]] = {}
    for _ in range(runs):
        for i in importtime(setup, program):
            seen.setdefault(i.name, []).append(i)
    return [
        Import(
            name,
            int(doc.median([i.own for i in found])),
            int(doc.median([i.cumulative for i in found])),
            found[0].depth,
        )
        for name, found in seen.items()
    ]


def by_package(imports: Sequence[Import]) -> Counter[str]:
    """Own import time (µs) by top-level package."""
    totals: Counter[str] = Counter()
    for i in imports:
        totals[i.name.split(".", 1)[0]] += i.own
    return totals


def main(argv: Sequence[str] | None = None) -> list[doc.Verdict]:
    args = doc.options(__doc__, "3 runs each", (RUNS, "cold starts of each kind")).parse_args(argv)
    runs = 3 if args.quick else args.runs
    started = time.perf_counter()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-cold-start-") as folder:
            setup = prepare(Path(folder), f"http://{host}:{port}")
            doc.say("cold start: writing bytecode")
            bytecode(setup)
            counted = run(setup, "befriend", "/api/me", setup.full, BENCH_COUNT="1")
            prefixes = {MODES[0]: setup.full, MODES[1]: setup.runtime}
            kinds = [(p, r, m) for r in ROUTES for m in MODES for p in PROGRAMS]
            times: Times = {k: [] for k in kinds}
            for n in range(runs):
                doc.say(f"cold start: round {n + 1} of {runs}")
                # Interleaved, each round in another order, so that noise from the machine's
                # other work falls on every kind alike.
                for program, route, mode in kinds[n % len(kinds) :] + kinds[: n % len(kinds)]:
                    times[program, route, mode].append(run(setup, program, route, prefixes[mode]))
            doc.say("cold start: -X importtime")
            profiled = 3 if args.quick else IMPORT_RUNS
            imports = (
                importtimes(setup, "befriend", profiled),
                importtimes(setup, "baseline", profiled),
            )
            pyc = shipped_pyc(setup)
    finally:
        server.stop()
    lines, verdicts = report(times, counted, imports, pyc, runs, time.perf_counter() - started)
    doc.publish(TITLE, lines, trial=args.no_doc or args.quick)
    return verdicts


Times = dict[tuple[str, str, str], list[Run]]


# Libraries befriend has that a cold start should not need: the why says if one is imported.
HEAVY = ("pygal", "email_validator", "jsonschema", "phonenumbers")


def _more(ms: float) -> str:
    return f"{abs(ms):.0f} ms {'more' if ms >= 0 else 'less'}"


def why(times: Times, imports: Sequence[Import], base_imports: Sequence[Import]) -> list[str]:
    """Where befriend's extra processor time goes, from the figures measured."""
    me, mode = "/api/me", MODES[0]

    def med(program: str, part: str) -> float:
        return doc.median([getattr(r, part) for r in times[program, me, mode]]) * 1000

    extra = med("befriend", "cpu") - med("baseline", "cpu")
    collector = med(UNFROZEN_NAME, "cpu") - med("befriend", "cpu")
    first = med(UNFROZEN_NAME, "first") - med("befriend", "first")
    ours = [i for i in imports if i.name.split(".", 1)[0] == "befriend"]
    own = sum(i.own for i in ours) / 1000
    build = next((i.own for i in ours if i.name == "befriend.lambda_app"), 0) / 1000
    theirs = by_package(base_imports)
    only = Counter({name: us for name, us in by_package(imports).items() if name not in theirs})
    del only["befriend"]
    named = ", ".join(f"`{name}`" for name, _ in only.most_common(3))
    imported = {i.name.split(".", 1)[0] for i in imports}
    heavy = [name for name in HEAVY if name in imported]
    target = med("baseline", "cpu") * TARGET
    verdict = "within" if med("befriend", "cpu") <= target else "over"
    return [
        f"Why, with bytecode, answering GET {me}: befriend uses {_more(extra)} processor "
        f"time than the baseline, {med('befriend', 'cpu'):.0f} ms, {verdict} the "
        f"{target:.0f} ms the target allows. Its own {len(ours)} modules take {own:.0f} ms "
        f"to import (-X importtime, below), {build:.0f} ms of it in `lambda_app` itself, "
        "which builds the app (the playbook parsed and checked, the routes registered); "
        f"the packages only befriend imports ({named}, …) take "
        f"{sum(only.values()) / 1000:.0f} ms more. "
        + (
            f"Of the heavy libraries befriend has, {', '.join(heavy)} "
            f"{'is' if len(heavy) == 1 else 'are'} imported. "
            if heavy
            else f"None of the heavy libraries befriend has ({', '.join(HEAVY)}) is imported. "
        )
        + "The garbage collector: lambda_app.py turns it off while it imports and builds the "
        "app, then freezes what that made (`gc.freeze()`: those objects live as long as the "
        "container), so no collection walks them, and the first request no longer sets off "
        "a full collection of all of them. What that is worth: befriend with those two calls "
        f"made to do nothing (the collector not frozen) uses {_more(collector)} processor "
        f"time, {med(UNFROZEN_NAME, 'cpu'):.0f} ms, {_more(first)} of it in the first answer.",
    ]


def report(
    times: Times,
    counted: Run,
    imports: tuple[Sequence[Import], Sequence[Import]],
    pyc: tuple[int, int],
    runs: int,
    total: float,
) -> tuple[list[str], list[doc.Verdict]]:
    def med(program: str, route: str, mode: str, part: str) -> float:
        return doc.median([getattr(r, part) for r in times[program, route, mode]])

    def ratio(route: str, mode: str, part: str, program: str = "befriend") -> float:
        return med(program, route, mode, part) / med("baseline", route, mode, part)

    def ms(program: str, route: str, mode: str, part: str) -> str:
        values = [getattr(r, part) for r in times[program, route, mode]]
        return f"{med(program, route, mode, part) * 1000:.0f} ({doc.spread(values)})"

    def parts(program: str, route: str, mode: str) -> str:
        return " / ".join(
            f"{med(program, route, mode, part) * 1000:.0f}" for part in ("init", "first")
        )

    unfrozen = UNFROZEN_NAME
    rows = [
        [
            f"GET {route}",
            mode,
            ms("befriend", route, mode, "cpu"),
            ms("baseline", route, mode, "cpu"),
            f"**{ratio(route, mode, 'cpu'):.2f}×**",
            f"{ms(unfrozen, route, mode, 'cpu')}: {ratio(route, mode, 'cpu', unfrozen):.2f}×",
            " / ".join(
                f"{med(p, route, mode, 'wall') * 1000:.0f}"
                for p in ("befriend", unfrozen, "baseline")
            ),
            parts("befriend", route, mode),
            parts(unfrozen, route, mode),
            parts("baseline", route, mode),
        ]
        for route in ROUTES
        for mode in MODES
    ]
    me = "/api/me"
    verdicts = [
        doc.Verdict(
            f"Cold start answering GET {me} {mode}, at most {TARGET}× the baseline",
            ratio(me, mode, "cpu") <= TARGET,
            f"{ratio(me, mode, 'cpu'):.2f}× in processor time "
            f"({med('befriend', me, mode, 'cpu') * 1000:.0f} ms against "
            f"{med('baseline', me, mode, 'cpu') * 1000:.0f} ms), "
            f"{ratio(me, mode, 'wall'):.2f}× from start to answer; "
            f"{ratio(me, mode, 'cpu', unfrozen):.2f}× with the collector not frozen "
            "(lambda_app.py before it froze it)",
        )
        for mode in MODES
    ]
    without, with_ = (med("befriend", me, m, "cpu") for m in reversed(MODES))
    top = sorted(imports[0], key=lambda i: i.cumulative, reverse=True)[:SHOWN]
    own, base_own = by_package(imports[0]), by_package(imports[1])
    packages = [
        [f"`{name}`", f"{us / 1000:.1f}", f"{base_own.get(name, 0) / 1000:.1f}"]
        for name, us in own.most_common(12)
    ]
    extra = sum(us for name, us in own.items() if name not in base_own)
    lines = [
        doc.machine("cold_start.py", total, "server on loopback"),
        "",
        f"Each program started {runs} times for each event and bytecode, in a fresh "
        "interpreter, all kinds in turns; the figures are medians, with the middle half of "
        "the runs (25th to 75th percentile) in brackets. *Processor time* is what the "
        "interpreter used from its start to its exit (user and system), which the machine's "
        "other work does not inflate: the verdicts rest on it. *Start to answer* is the "
        "time a caller waits, from starting the interpreter to its answer, which on this "
        "shared machine includes waiting for a processor; it also includes the wait for "
        "moto's answer, the same for both. *Import* is importing the entry module (befriend "
        "builds its app there), *first answer* the handler answering the event. The "
        "script's docstring says what is real and what is not.",
        "",
        *doc.table(
            [
                "event",
                "bytecode",
                "befriend, processor time (ms)",
                "baseline (ms)",
                "befriend ÷ baseline",
                "collector not frozen (ms): ÷ baseline",
                "start to answer (ms), befriend / not frozen / baseline",
                "import / first answer (ms), befriend",
                "not frozen",
                "baseline",
            ],
            rows,
            right=2,
        ),
        "",
        *(v.line() for v in verdicts),
        "",
        f"befriend's first answer to GET {me} made these AWS requests: "
        f"{', '.join(counted.calls) or 'none'}, as the baseline's does; pygal "
        f"{'was' if counted.pygal else 'was not'} imported.",
        "",
        *why(times, imports[0], imports[1]),
        "",
        f"What shipping bytecode saves: {(without - with_) * 1000:.0f} ms of processor time "
        f"in each cold start ({(without - with_) / without:.0%}). Lambda cannot write .pyc "
        "into its read-only task folder, so from a zip without them every cold start "
        f"compiles the {pyc[0]} modules it imports from the zip ({pyc[1] / 1024:,.0f} KB of "
        "bytecode). `befriend package` ships them when it finds a Python 3.12 to compile "
        "with; the section on the package says whether it did here, and what they add to "
        "the zip.",
        "",
        f"The {SHOWN} slowest imports of befriend's cold start, with bytecode, from "
        f"`python -X importtime` (medians of {IMPORT_RUNS} runs; cumulative: with "
        "everything they import):",
        "",
        *doc.table(
            ["module", "cumulative (ms)", "own (ms)"],
            [[f"`{i.name}`", f"{i.cumulative / 1000:.1f}", f"{i.own / 1000:.1f}"] for i in top],
        ),
        "",
        "Own import time by top-level package (medians, as above), befriend's cold start "
        "against the baseline's; befriend's own includes building the app, which "
        f"`lambda_app` does on import. Packages the baseline does not import take "
        f"{extra / 1000:.1f} ms in all.",
        "",
        *doc.table(["package", "befriend (ms)", "baseline (ms)"], packages),
    ]
    return lines, verdicts


if __name__ == "__main__":
    main()
