"""Handler glue, shared by every trigger: parse -> respond (idempotently) -> notify -> record -> raise.

A handler module is a few lines::

    @entrypoint("health", parse_health)
    def handler(event: HealthEvent, ctx: ResponseContext) -> Report:
        return contain_access_key(ctx, event.access_key_id(), ...)
"""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from . import capabilities as cap
from .aws import Clients, default_clients, describe_error
from .config import Settings
from .context import ResponseContext, incident_id_for
from .events import BadInput
from .notify import publish
from .report import Report, fit
from .timeutil import parse_time, utcnow

SERVICE = "compromise-responder"
logger = Logger(service=SERVICE)
metrics = Metrics(namespace="CompromiseResponder", service=SERVICE)


def tracing_enabled() -> bool:
    """X-Ray tracing only inside Lambda with tracing on: elsewhere the X-Ray SDK (0.3 s to import) is not loaded."""
    disabled = os.environ.get("POWERTOOLS_TRACE_DISABLED", "").lower() in ("1", "true")
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME")) and not disabled


def traced(handler: Callable[[Any, Any], dict[str, Any]]) -> Callable[[Any, Any], dict[str, Any]]:
    if not tracing_enabled():
        return handler
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE).capture_lambda_handler(handler)  # type: ignore[no-any-return]


IDEMPOTENCY = cap.declare(
    "idempotency",
    ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"),
    cap.IDEMPOTENCY_TABLE,
    "Powertools idempotency: one response per EventBridge envelope id",
)
IDEMPOTENCY_SECONDS = 24 * 3600
IDEMPOTENCY_RECORD_BYTES = 300_000

P = TypeVar("P")


class IncompleteResponse(RuntimeError):
    """Some region or step failed. Raised after notifying and recording, so the platform retries."""


def _log(message: str, **fields: Any) -> None:
    logger.info(message, extra=fields)


def _account(event: Any, context: Any, clients: Clients, region: str) -> str | None:
    if isinstance(event, dict) and isinstance(event.get("account"), str) and event["account"].isdigit():
        return str(event["account"])
    arn = getattr(context, "invoked_function_arn", "") or ""
    if arn.count(":") >= 4 and arn.split(":")[4].isdigit():
        return arn.split(":")[4]
    try:  # outside Lambda only; GetCallerIdentity needs no IAM permission
        return str(clients.get("sts", region).get_caller_identity()["Account"])
    except Exception:  # noqa: BLE001 - principal ARNs stay unknown; names still match
        return None


def entrypoint(
    trigger: str,
    parse: Callable[[Any], P],
    *,
    dry_run: Callable[[P], bool] | None = None,
    idempotent: bool = True,
) -> Callable[[Callable[[P, ResponseContext], Report]], Callable[[Any, Any], dict[str, Any]]]:
    """Make ``respond(parsed_event, ctx) -> Report`` a Lambda handler ``handler(event, context)``."""

    def decorate(respond: Callable[[P, ResponseContext], Report]) -> Callable[[Any, Any], dict[str, Any]]:
        @functools.wraps(respond)
        def handler(event: Any, context: Any) -> dict[str, Any]:
            parsed = parse(event)  # BadInput (a ValueError naming the field) before anything changes
            settings = Settings.from_env()
            clients = default_clients()
            envelope_id = event.get("id") if isinstance(event, dict) and isinstance(event.get("id"), str) else None
            seed = envelope_id or getattr(context, "aws_request_id", None) or utcnow().isoformat()
            try:
                when = parse_time(event.get("time")) if envelope_id else None
            except ValueError:
                when = None
            ctx = ResponseContext(
                settings=settings,
                clients=clients,
                trigger=trigger,
                incident_id=incident_id_for(seed, when or utcnow()),
                dry_run=settings.dry_run or bool(dry_run and dry_run(parsed)),
                account=_account(event, context, clients, settings.home_region),
                log=_log,
            )
            logger.append_keys(incident_id=ctx.incident_id, trigger=trigger, mode=ctx.mode)
            try:

                def run() -> dict[str, Any]:
                    return finish(ctx, _respond_or_report_failure(respond, parsed, ctx))

                if idempotent and envelope_id and settings.idempotency_table:
                    return _once(settings, clients, event, context, run)
                return run()
            finally:
                logger.remove_keys(["incident_id", "trigger", "mode"])
                with warnings.catch_warnings():  # a duplicate delivery publishes no metric: that is fine
                    warnings.simplefilter("ignore", UserWarning)
                    metrics.flush_metrics()

        return traced(handler)

    return decorate


def _respond_or_report_failure(
    respond: Callable[[P, ResponseContext], Report], parsed: P, ctx: ResponseContext
) -> Report:
    """An unexpected error still reaches the team before the platform retries."""
    try:
        return respond(parsed, ctx)
    except BadInput:
        raise  # a malformed event is the sender's problem: nothing was changed, nobody is paged
    except Exception as exc:
        logger.exception("response failed")
        report = ctx.new_report(
            headline=f"Responder FAILED handling a {ctx.trigger} event: {describe_error(exc)}", severity="critical"
        )
        report.errors.append(describe_error(exc))
        report.status = "failed"
        report.todo = ["The platform retries the event; if the DLQ alarm fires, run the matching runbook by hand."]
        try:
            publish(ctx.clients, ctx.settings.notify_topic_arn, report.to_json())
        except Exception:
            logger.exception("could not notify the failure")
        raise


def finish(ctx: ResponseContext, report: Report) -> dict[str, Any]:
    """Contract steps 5-6: notify, record; then raise if anything failed (after, never before)."""
    report.finished = utcnow()
    data = report.to_json()
    problems: list[str] = []
    if report.status != "recorded":
        try:
            publish(ctx.clients, ctx.settings.notify_topic_arn, data)
        except Exception as exc:  # noqa: BLE001 - still record, then raise
            problems.append(f"notification failed: {describe_error(exc)}")
        if ctx.incidents is not None:
            principal = report.principal
            credential = principal.access_key_id if principal and principal.type in ("IAMUser", "Root") else None
            try:
                ctx.incidents.record(
                    data,
                    status=report.status,
                    access_key_id=credential,
                    principal_arn=principal.arn if principal and principal.type == "IAMUser" else None,
                )
            except Exception as exc:  # noqa: BLE001
                problems.append(f"recording the incident failed: {describe_error(exc)}")
    counts = report.counts()
    metrics.add_metric(name="Responses", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="InstancesTerminated", unit=MetricUnit.Count, value=counts[("terminate-instance", "done")])
    metrics.add_metric(
        name="RegionsFailed", unit=MetricUnit.Count, value=sum(1 for s in report.regions.values() if s == "failed")
    )
    logger.info(
        "response finished",
        extra={
            "headline": report.headline,
            "regions": data["regions"],
            "failures": data["failures"],
            "seconds": data["durationSeconds"],
        },
    )
    if report.failed or problems:
        raise IncompleteResponse(f"incident {report.incident_id}: " + "; ".join(report.failures() + problems))
    return data


_PERSISTENCE_LAYERS: dict[tuple[str, int], Any] = {}


def prewarm(region: str | None = None) -> Clients:
    """Lambda's init phase: create the home-region clients the first calls need (IAM closes the door,
    DynamoDB claims the event, SNS notifies), so the invocation starts with its first request."""
    home = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    clients = default_clients()
    for service in ("dynamodb", "iam", "sns"):
        clients.get(service, home)
    return clients


if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):  # only inside Lambda: local imports stay fast
    prewarm()


def _once(
    settings: Settings, clients: Clients, event: dict[str, Any], context: Any, run: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """Powertools idempotency keyed on the envelope id: a redelivery returns the first report and
    notifies nobody. If the idempotency table itself fails, containment still runs (once)."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )
    from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyPersistenceLayerError

    table = str(settings.idempotency_table)
    client = clients.get("dynamodb", settings.home_region)
    layer = _PERSISTENCE_LAYERS.get((table, id(client)))
    if layer is None:
        layer = _PERSISTENCE_LAYERS[(table, id(client))] = DynamoDBPersistenceLayer(
            table_name=table, boto3_client=client
        )
    config = IdempotencyConfig(event_key_jmespath="id", expires_after_seconds=IDEMPOTENCY_SECONDS)
    if context is not None and callable(getattr(context, "get_remaining_time_in_millis", None)):
        config.register_lambda_context(context)
    result: dict[str, Any] = {}

    @idempotent_function(data_keyword_argument="event", persistence_store=layer, config=config)
    def respond_once(event: dict[str, Any]) -> dict[str, Any]:
        result["report"] = run()
        return fit(result["report"], IDEMPOTENCY_RECORD_BYTES)  # a DynamoDB item holds 400 KB

    try:
        stored = respond_once(event=event)
        return result.get("report", stored)  # the full report first time; the stored one on a redelivery
    except IdempotencyPersistenceLayerError as exc:
        logger.warning("idempotency store failed; responding without it", extra={"error": str(exc)})
        return result["report"] if "report" in result else run()
