"""`befriend serve` in a child process on a free loopback port, for the benchmarks that drive
it over HTTP (bench/load.py, bench/load_batches.py, bench/address_timing.py): the command
`make run` starts, with the options each benchmark names (none for the load benchmark).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import requests

ROOT = Path(__file__).resolve().parent.parent


class Serve:
    """`befriend serve` in a child process, with what it printed: moto's endpoint, the key.

    The child gets none of this shell's AWS_ or BEFRIEND_ settings: only the secret, the
    table and the region given here, and `env` (for instance a limit to raise)."""

    def __init__(
        self,
        secret: str,
        log: IO[str],
        *options: str,
        table: str,
        region: str,
        env: Mapping[str, str] | None = None,
    ) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        child = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BEFRIEND_"))}
        child |= {
            "PYTHONUNBUFFERED": "1",  # its lines arrive as it prints them
            "BEFRIEND_SECRET": secret,  # so a benchmark can find what the secret keys
            "BEFRIEND_TABLE": table,
            "AWS_DEFAULT_REGION": region,
            **(env or {}),
        }
        command = str(Path(sys.executable).with_name("befriend"))
        self.process = subprocess.Popen(  # noqa: S603 - our own command
            [command, "serve", "--host", "127.0.0.1", "--port", str(port), *options],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=child,
            cwd=ROOT,
        )
        printed = self._printed()
        self.endpoint = printed["moto endpoint"]
        self.admin_key = printed["admin API key"].split()[0]
        self._healthy()

    def _printed(self) -> dict[str, str]:
        assert self.process.stdout is not None
        found: dict[str, str] = {}
        for line in self.process.stdout:
            name, _, value = line.strip().partition(": ")
            found[name] = value.strip()
            if name == "admin API key":
                return found
        raise SystemExit(f"befriend serve stopped before it was ready (exit {self.process.wait()})")

    def _healthy(self) -> None:
        for _ in range(100):
            try:
                if requests.get(f"{self.base}/api/health", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise SystemExit("befriend serve does not answer /api/health")

    def resident_mb(self) -> float:
        """The serve's resident memory now, in MB (Linux's /proc; 0 where there is none)."""
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text(encoding="ascii")
        except OSError:
            return 0.0
        found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        return int(found[1]) / 1024 if found else 0.0

    def stop(self) -> float:
        """Stopped as `stop` stops it; the seconds from SIGTERM to its end."""
        started = time.monotonic()
        stop(self.process, 20)
        return time.monotonic() - started


def stop(process: subprocess.Popen[Any], timeout: float) -> None:
    """SIGTERM, as Ctrl-C; a process that takes longer than `timeout` to end is killed."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
