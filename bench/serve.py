"""`befriend serve --no-demo` in a child process on a free loopback port, for the benchmarks
that drive it over HTTP (bench/load.py, bench/address_timing.py).

By default the serve runs through bench/load_moto.py, which narrows moto's transaction
backup (its docstring says why and what that changes); `stock=True` runs it unadjusted.
"""

from __future__ import annotations

import os
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
        *,
        stock: bool,
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
        command = (
            [str(Path(sys.executable).with_name("befriend"))]
            if stock
            else [sys.executable, "-m", "bench.load_moto"]
        )
        self.process = subprocess.Popen(  # noqa: S603 - our own command
            [*command, "serve", "--host", "127.0.0.1", "--port", str(port), "--no-demo"],
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

    def stop(self) -> None:
        stop(self.process, 20)


def stop(process: subprocess.Popen[Any], timeout: float) -> None:
    """SIGTERM, as Ctrl-C; a process that takes longer than `timeout` to end (to free its
    heap, say) is killed."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
