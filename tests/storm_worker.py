"""One Lambda invocation in its own process, against moto in server mode (``AWS_ENDPOINT_URL``), for the storm
test: import the handler (Lambda's init), wait for the common start signal, handle the event; a handler that
raises is retried with the same event, as the platform retries an asynchronous invocation.

    python -m tests.storm_worker <go-file> <handler> <event.json> <result.json> [<handler> <event> <result> ...]

One process imports the emulator's hooks and every handler named once, then forks one child per invocation (a
fork server): each invocation still runs in a process of its own, all at once, without paying the imports again
on two cores.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

from compromise_responder.tools.emulator import LambdaContext
from compromise_responder.tools.emulator.capacity import GlueRuns, Lightsail
from compromise_responder.tools.emulator.cloudtrail import EmulatedCloudTrail
from compromise_responder.tools.emulator.hooks import Dispatcher

RETRIES = 2  # Lambda retries a failed asynchronous invocation twice
START_TIMEOUT = 120.0


def install() -> Counter[str]:
    """The emulator's hooks, before any client exists; returns the count of every call AWS (moto) accepted."""
    dispatcher = Dispatcher()  # moto gap: LookupEvents (moto raises; the server answers 500): no events, a real answer
    dispatcher.senders = [EmulatedCloudTrail().on_send]
    # moto's server has no Lightsail backend (it answers 500) nor Glue's BatchStopJobRun: the emulator's gap fillers,
    # as in process (this account has neither Lightsail instances nor Glue runs: the same empty answer in every worker)
    dispatcher.plugins = [Lightsail(), GlueRuns()]
    accepted: Counter[str] = Counter()
    dispatcher.observers = [lambda call, parsed: accepted.update([call.action])]
    dispatcher.install()
    return accepted


def invoke(accepted: Counter[str], handler_name: str, event_path: str, result_path: str, go_path: str) -> int:
    event = json.loads(Path(event_path).read_text())
    handler = importlib.import_module(f"handlers.{handler_name}").handler
    Path(result_path + ".ready").touch()
    deadline = time.monotonic() + START_TIMEOUT
    while not Path(go_path).exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    function = f"compromise-responder-{handler_name}"
    context = LambdaContext(
        function_name=function, invoked_function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{function}"
    )
    attempts: list[dict[str, object]] = []
    for _ in range(1 + RETRIES):
        try:
            attempts.append({"ok": True, "report": handler(event, context)})
            break
        except Exception as exc:  # noqa: BLE001 - recorded; the platform would retry
            attempts.append({"ok": False, "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()})
    Path(result_path).write_text(json.dumps({"attempts": attempts, "accepted": accepted}, default=str))
    return 0


def main(argv: list[str]) -> int:
    go_path, rest = argv[0], argv[1:]
    jobs = [tuple(rest[i : i + 3]) for i in range(0, len(rest), 3)]
    accepted = install()
    for handler_name in {job[0] for job in jobs}:  # Lambda's init, once: each child inherits it
        importlib.import_module(f"handlers.{handler_name}")
    children = []
    for handler_name, event_path, result_path in jobs:
        pid = os.fork()
        if pid == 0:  # the invocation's own process: its own clients, connections and count of accepted calls
            code = 1
            try:
                code = invoke(accepted, handler_name, event_path, result_path, go_path)
            except BaseException:  # noqa: BLE001 - reported in the log; the result file is missing
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        children.append(pid)
    failed = 0
    for pid in children:
        _, status = os.waitpid(pid, 0)
        failed += os.waitstatus_to_exitcode(status) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
