"""moto in server mode on 127.0.0.1, on a free port, for the real CDK CLI and boto3 to talk to.

Started and stopped by the project's own code: the port is chosen at start (another worktree may
run the same rehearsal at the same time), the server must answer before it is used, and it is
always stopped by its PID - also when what ran against it failed.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
# One AMI instead of moto's hundreds: each region's EC2 backend starts in milliseconds (see emulator/)
AMIS = ROOT / "emulator" / "amis.json"


def free_port() -> int:
    """A port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


class MotoServer:
    """``with MotoServer(log) as server: server.endpoint`` - one emulated AWS account (123456789012)."""

    def __init__(self, log: Path, *, start_timeout: float = 30.0, attempts: int = 3) -> None:
        self.log = log
        self.start_timeout = start_timeout
        self.attempts = attempts
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    def __enter__(self) -> MotoServer:
        for attempt in range(1, self.attempts + 1):
            self.port = free_port()
            self._spawn()
            if self._wait_until_answering():
                return self
            self.stop()  # lost the port to another process between probe and bind, or a slow start: try again
            if attempt == self.attempts:
                raise RuntimeError(f"moto server did not answer on {self.endpoint}; see {self.log}")
        return self

    def __exit__(self, *exc: object | TracebackType | None) -> None:
        self.stop()

    def _spawn(self) -> None:
        env = {**os.environ, "MOTO_AMIS_PATH": str(AMIS)}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(Path(sys.executable).parent / "moto_server"), "-H", HOST, "-p", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
            )

    def _wait_until_answering(self) -> bool:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(f"{self.endpoint}/moto-api/data.json", timeout=2) as answer:
                    if answer.status == 200:
                        return True
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        return False

    def stop(self) -> None:
        """Stop exactly the process started here, by its PID: SIGTERM, then SIGKILL if it lingers."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
