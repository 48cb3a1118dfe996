"""Run one deployed function's handler code in this process, as Lambda would, against the endpoint
in ``AWS_ENDPOINT_URL`` - for the deploy rehearsal (moto's Lambda invoke needs Docker).

    python -m compromise_responder.tools.replay <handler> <function-name> <function-arn> <event.json> <result.json>

The caller sets the environment: the deployed function's own variables plus the endpoint and
dummy credentials. The handler's result (or its error) is written to ``result.json``.
"""

from __future__ import annotations

import importlib
import json
import sys
import traceback
from pathlib import Path

from compromise_responder.tools.emulator import LambdaContext
from compromise_responder.tools.emulator.capacity import BatchJobs, GlueRuns, Lightsail, SageMakerJobs, UnofferedRegions
from compromise_responder.tools.emulator.cloudtrail import EmulatedCloudTrail
from compromise_responder.tools.emulator.hooks import Dispatcher


def main(argv: list[str]) -> int:
    handler_name, function_name, function_arn, event_path, result_path = argv
    event = json.loads(Path(event_path).read_text())
    # moto gap: CloudTrail LookupEvents is not implemented (moto raises NotImplementedError, which the
    # server answers with HTTP 500 and botocore retries for ~a minute). Answer it from the emulator's
    # CloudTrail record store, which holds nothing here: "no CloudTrail events for this key", a real answer.
    dispatcher = Dispatcher()
    dispatcher.senders = [EmulatedCloudTrail().on_send]
    # moto's server lacks what the kinds beyond EC2 call in every region (Lightsail at all, Glue's BatchStopJobRun,
    # in-progress SageMaker and Batch jobs, some services in the newest regions): the emulator's gap fillers, as in
    # process - this account has none of them, so they give the same empty answers AWS would.
    dispatcher.plugins = [UnofferedRegions(), Lightsail(), GlueRuns(), SageMakerJobs(), BatchJobs()]
    dispatcher.install()
    context = LambdaContext(function_name=function_name, invoked_function_arn=function_arn)
    handler = importlib.import_module(f"handlers.{handler_name}").handler
    try:
        result = {"ok": True, "result": handler(event, context)}
    except Exception as exc:  # noqa: BLE001 - the rehearsal reports it, with the traceback
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
    finally:
        dispatcher.uninstall()
    Path(result_path).write_text(json.dumps(result, default=str))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
