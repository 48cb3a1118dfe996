"""moto in server mode on 127.0.0.1, for the real CDK CLI and boto3 to talk to.

Started and stopped by the project's own code. The server process binds port 0 itself, so the OS
picks a free port atomically (another worktree may run the same rehearsal at the same time: no
probe-then-bind race), and reports it through a file; the server must answer before it is used,
and it is always stopped by its PID - also when what ran against it failed.

    python -m compromise_responder.tools.moto_server <port-file>     # the server process (started by MotoServer)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
# One AMI instead of moto's hundreds: each region's EC2 backend starts in milliseconds (see tools/emulator/)
AMIS = Path(__file__).resolve().parent / "emulator" / "amis.json"


class MotoServer:
    """``with MotoServer(workdir) as server: server.endpoint`` - one emulated AWS account (123456789012)."""

    def __init__(self, workdir: Path, *, start_timeout: float = 60.0) -> None:
        self.log = workdir / "moto-server.log"
        self.port_file = workdir / "moto-server.port"
        self.start_timeout = start_timeout
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    def __enter__(self) -> MotoServer:
        self.port_file.unlink(missing_ok=True)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "compromise_responder.tools.moto_server", str(self.port_file)],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "MOTO_AMIS_PATH": str(AMIS)},
            )
        try:
            self._wait_until_answering()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _wait_until_answering(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"moto server exited at start; see {self.log}")
            if self.port_file.exists():
                self.port = int(self.port_file.read_text())
                try:
                    with urllib.request.urlopen(f"{self.endpoint}/moto-api/data.json", timeout=2) as answer:
                        if answer.status == 200:
                            return
                except (urllib.error.URLError, OSError):
                    pass
            time.sleep(0.1)
        raise RuntimeError(f"moto server did not answer within {self.start_timeout} s; see {self.log}")

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


def _delete_roles_as_cloudformation_does() -> None:
    """moto gap: CloudFormation deletes a stack in dependency order, so a managed policy that names a role
    (``Roles``) is deleted - and detached - before the role. moto's stack deletion can reach the role first and then
    fails "Cannot delete entity, must detach all policies first". Here the role's managed policies are detached
    first, as the policies' own deletion would have done."""
    from moto.iam.models import Role, iam_backends
    from moto.utilities.utils import get_partition

    original = Role.delete_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def delete(cls: type, resource_name: str, cloudformation_json: dict, account_id: str, region_name: str) -> None:  # type: ignore[type-arg]
        backend = iam_backends[account_id][get_partition(region_name)]
        for role in list(backend.roles.values()):
            if role.name == resource_name:
                for arn in list(role.managed_policies):
                    backend.detach_role_policy(arn, resource_name)
        original(cls, resource_name, cloudformation_json, account_id, region_name)

    Role.delete_from_cloudformation_json = classmethod(delete)  # type: ignore[method-assign,assignment]


def serve(port_file: Path) -> None:
    """The server process: moto's WSGI app (as ``moto_server`` runs it) on a port the OS picks."""
    _delete_roles_as_cloudformation_does()
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    server = make_server(
        HOST, 0, DomainDispatcherApplication(create_backend_app), threaded=True, request_handler=MotoRequestHandler
    )
    port = int(server.server_address[1])
    os.environ["MOTO_PORT"] = str(port)  # moto builds some URLs (SQS queue URLs ...) with it, as moto_server does

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    written = port_file.with_suffix(".tmp")
    written.write_text(str(port))
    written.rename(port_file)  # appears whole: the parent never reads half a number
    server.serve_forever()


if __name__ == "__main__":
    serve(Path(sys.argv[1]))
