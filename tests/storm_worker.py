"""One Lambda invocation in its own process, against moto in server mode (``AWS_ENDPOINT_URL``), for the storm
test: import the handler (Lambda's init), wait for the common start signal, handle the event; a handler that
raises is retried with the same event, as the platform retries an asynchronous invocation.

    python -m tests.storm_worker <handler> <event.json> <result.json> <go-file>
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

from tools.emulator import LambdaContext
from tools.emulator.capacity import GlueRuns, Lightsail
from tools.emulator.cloudtrail import EmulatedCloudTrail
from tools.emulator.hooks import Dispatcher

RETRIES = 2  # Lambda retries a failed asynchronous invocation twice
START_TIMEOUT = 120.0


def main(argv: list[str]) -> int:
    handler_name, event_path, result_path, go_path = argv
    event = json.loads(Path(event_path).read_text())
    dispatcher = Dispatcher()  # moto gap: LookupEvents (moto raises; the server answers 500): no events, a real answer
    dispatcher.senders = [EmulatedCloudTrail().on_send]
    # moto's server has no Lightsail backend (it answers 500) nor Glue's BatchStopJobRun: the emulator's gap fillers,
    # as in process (this account has neither Lightsail instances nor Glue runs: the same empty answer in every worker)
    dispatcher.plugins = [Lightsail(), GlueRuns()]
    accepted: Counter[str] = Counter()  # every call AWS (moto) accepted, by action
    dispatcher.observers = [lambda call, parsed: accepted.update([call.action])]
    dispatcher.install()
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
    dispatcher.uninstall()
    Path(result_path).write_text(json.dumps({"attempts": attempts, "accepted": accepted}, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
