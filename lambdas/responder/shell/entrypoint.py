"""Handler glue, shared by every trigger: parse -> respond (idempotently) -> notify -> record -> raise.

A handler module is a few lines::

    @entrypoint("health", parse_health)
    def handler(event: HealthEvent, ctx: ResponseContext) -> Report:
        return contain_access_key(ctx, event.access_key_id(), ...)
"""

from __future__ import annotations

import functools
import os
import sys
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from ..actions import ActionName
from ..aws import Clients, caller_account, clean_text, default_clients, describe_error
from ..core.arns import account_of
from ..core.config import Settings
from ..core.fit import fit
from ..core.partitions import partition_of
from ..core.timeutil import iso, parse_time, utcnow
from ..evidence.probes import key_owner
from ..parse.events import BadInput
from ..record import attempts, joining
from ..record.idempotency import IDEMPOTENCY_RECORD_BYTES, IDEMPOTENCY_SECONDS
from ..record.notify import publish
from ..record.securityhub import import_finding, is_incident, resolve_findings
from ..record.store import MAX_REPORT_BYTES
from ..report import Report
from ..report.needs_human import RETRY_NOTE
from . import accounts
from .context import ResponseContext, incident_id_for

SERVICE = "compromise-responder"


class _CurrentStdout:
    """Writes to whatever ``sys.stdout`` is when a line is logged, not when the logger was made: the CLI runs a
    handler in-process under a swapped stdout (Lambda's never changes, so there it is the same stream)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


logger = Logger(service=SERVICE, stream=_CurrentStdout())  # type: ignore[arg-type]
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


P = TypeVar("P")


class IncompleteResponse(RuntimeError):
    """Some region or step failed. Raised after notifying and recording, so the platform retries."""


def _log(message: str, **fields: Any) -> None:
    logger.info(message, extra=fields)


def own_account(context: Any, clients: Clients, region: str) -> str | None:
    """The account the function runs in: from its ARN (Lambda), else STS (the CLI). Never from the event."""
    return account_of(getattr(context, "invoked_function_arn", "") or "") or caller_account(clients, region)


def caller_of(context: Any) -> str:
    """Who invoked the function, as far as the invocation tells. A Lambda context names no IAM caller: the
    ``responder`` CLI states its caller's ARN in the client context (the caller's own word, so marked as such);
    otherwise the request id is what finds the caller in CloudTrail (Lambda data events)."""
    request = getattr(context, "aws_request_id", None) or "unknown"
    custom = getattr(getattr(context, "client_context", None), "custom", None)
    stated = custom.get("caller") if isinstance(custom, dict) else None
    if isinstance(stated, str) and stated.strip():
        return f"{clean_text(stated, 200)} (stated by the invoking client, request {request})"
    return f"unknown caller (request {request}: the Lambda console or API; CloudTrail Lambda data events name it)"


def entrypoint(
    trigger: str,
    parse: Callable[[Any, str], P],
    *,
    account: Callable[[P], str | None] = lambda parsed: None,
    incident: Callable[[P], str | None] = lambda parsed: None,
    dry_run: Callable[[P], bool] | None = None,
    idempotent: bool = True,
    eager_journal: bool = True,
    caller_names_account: bool = False,
    first_key: Callable[[P], str | None] = lambda parsed: None,
) -> Callable[[Callable[[P, ResponseContext], Report]], Callable[[Any, Any], dict[str, Any]]]:
    """Make ``respond(parsed_event, ctx) -> Report`` a Lambda handler ``handler(event, context)``.

    ``account`` says which account the event is about (``caller_names_account``: a person typed it, so in
    organization mode it must be an account of the organization); ``eager_journal`` reads the incident's
    earlier attempts beside the first IAM call (the launch watcher reads them only when it acts); ``first_key``
    names the access key whose owner the response reads first: read at once, beside the idempotency record."""

    def decorate(respond: Callable[[P, ResponseContext], Report]) -> Callable[[Any, Any], dict[str, Any]]:
        @functools.wraps(respond)
        def handler(event: Any, context: Any) -> dict[str, Any]:
            home = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
            parsed = parse(event, partition_of(home))  # BadInput (a ValueError naming the field) before anything
            settings = Settings.from_env()
            clients = default_clients()
            envelope_id = event.get("id") if isinstance(event, dict) and isinstance(event.get("id"), str) else None
            seed = envelope_id or getattr(context, "aws_request_id", None) or utcnow().isoformat()
            try:
                when = parse_time(event.get("time")) if envelope_id else None
            except ValueError:
                when = None
            own = own_account(context, clients, settings.home_region)
            ctx = ResponseContext(
                settings=settings,
                clients=clients,
                trigger=trigger,
                incident_id=incident(parsed) or incident_id_for(seed, when or utcnow()),
                dry_run=settings.dry_run or bool(dry_run and dry_run(parsed)),
                account=account(parsed) or own,
                own_account=own,
                log=_log,
                caller=caller_of(context),
                request_id=getattr(context, "aws_request_id", None),
            )
            logger.append_keys(incident_id=ctx.incident_id, trigger=trigger, mode=ctx.mode, account=ctx.account)
            why_not = accounts.refusal(ctx)
            if not why_not:
                read_ahead(ctx, first_key, parsed)
            try:

                def run() -> dict[str, Any]:
                    if eager_journal and ctx.incidents is not None and ctx.journal is None:
                        incidents = ctx.incidents
                        ctx.journal = attempts.load_in_background(
                            lambda: incidents.attempts(ctx.incident_id), ctx.incident_id
                        )
                    if why_not:
                        from ..flows.notices import not_acted

                        return finish(ctx, not_acted(ctx, why_not))
                    if caller_names_account and ctx.settings.organization and ctx.account != ctx.own_account:
                        accounts.verify_member(
                            ctx.home, settings.home_region, str(ctx.account), "accountId", f"{trigger} event"
                        )
                    unreachable = accounts.act_in(ctx)
                    if unreachable:
                        return finish(ctx, _member_unreachable(ctx, unreachable))
                    return finish(ctx, _respond_or_report_failure(respond, parsed, ctx))

                if idempotent and envelope_id and settings.idempotency_table:
                    return _once(ctx, event, context, run)
                return run()
            finally:
                for unread in ctx.read_ahead.values():  # a duplicate delivery never needed them: no call outlives us
                    unread.exception()
                logger.remove_keys(["incident_id", "trigger", "mode", "account"])
                with warnings.catch_warnings():  # a duplicate delivery publishes no metric: that is fine
                    warnings.simplefilter("ignore", UserWarning)
                    metrics.flush_metrics()

        return traced(handler)

    return decorate


_AHEAD = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ahead")


def read_ahead(ctx: ResponseContext, first_key: Callable[[P], str | None], parsed: P) -> None:
    """Start the two reads that come before the door - the key's owner (``GetAccessKeyLastUsed``) and whether
    the key is a credential of an open incident's chain (the incidents table) - while the idempotency record is
    written: the door then closes a round trip sooner. Reads, so a duplicate delivery that answers from the
    idempotency record only wasted them. Single-account mode only (a member's clients come later)."""
    if ctx.settings.organization or ctx.account != ctx.own_account:
        return
    try:
        key = first_key(parsed)
    except Exception:  # noqa: BLE001 - no read-ahead; the response reads them itself
        return
    if key:
        ctx.read_ahead[("owner", key)] = _AHEAD.submit(
            key_owner, ctx.clients, ctx.settings.home_region, key, ctx.account
        )
        if joining.claims(ctx):  # only a response that claims reads it (open_or_join)
            ctx.read_ahead[("chain-parent", key)] = _AHEAD.submit(joining.chain_parent, ctx, key)


def _respond_or_report_failure(
    respond: Callable[[P, ResponseContext], Report], parsed: P, ctx: ResponseContext
) -> Report:
    """An unexpected error still reaches the team, and is recorded as an attempt, before the platform retries."""
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
        report.todo = ["If the retries fail too (DLQ alarm), run the matching runbook by hand."]
        return report


def _member_unreachable(ctx: ResponseContext, error: str) -> Report:
    """Organization mode: the member role could not be assumed: nothing planned or changed there; raise after."""
    report = ctx.new_report(
        headline=f"{ctx.trigger} event for member account {ctx.account}: role not assumable, nothing changed",
        severity="critical",
    )
    report.account_errors[str(ctx.account)] = error
    report.status = "failed"
    report.todo = [
        f"Check that {ctx.settings.member_role_name} exists in account {ctx.account} (the member StackSet) and "
        "trusts the hub's function roles; the platform retries this event."
    ]
    return report


def finish(ctx: ResponseContext, report: Report) -> dict[str, Any]:
    """Contract steps 5-6: notify, record; then raise if anything failed (after, never before).

    The report covers the whole incident: earlier attempts (a retry) are folded in first, so the team is
    told what every attempt did, and the record keeps each attempt."""
    report.finished = utcnow()
    report.account = ctx.account
    if ctx.settings.organization and ctx.account and ctx.account != ctx.own_account and report.status != "recorded":
        report.facts.setdefault("accountName", accounts.account_name(ctx.home, ctx.settings.home_region, ctx.account))
    problems: list[str] = []
    if report.status == "recorded":
        data = report.to_json()
        data["page"] = "none"  # recorded only (a held "left running" notice included)
    elif report.lifecycle is not None:
        data = _finish_lifecycle(ctx, report, problems)
    else:
        own = report.to_json()  # this attempt alone, as it is stored
        earlier = ctx.earlier
        if earlier.note:
            report.facts["earlierAttempts"] = earlier.note
        report.include_earlier(earlier.attempts)
        if report.failed:
            report.todo.append(RETRY_NOTE)
        data = report.to_json()
        joined = joining.is_joined(ctx)  # a trigger of an incident already open: recorded there, pages by budget
        if ctx.settings.security_hub_findings and is_incident(data) and not joined:
            _security_hub(ctx, data, lambda **where: import_finding(ctx.home, data, **where))
        data["page"] = page = joining.page_decision(ctx, data)
        view = joining.incident_view(ctx, data) if joined and ctx.settings.security_hub_findings else None
        if view is not None:  # the incident's finding, with this trigger's facts added
            _security_hub(ctx, data, lambda **where: import_finding(ctx.home, view, **where))
        notified = page != "none" and _notify(ctx, joining.digest(ctx, data) if page == "digest" else data, problems)
        attempt = {
            "attempt": report.attempt,
            "startedAt": iso(report.started),
            "finishedAt": iso(report.finished),
            "notified": notified,
            "failures": own["failures"] + problems,
            "report": fit(own, MAX_REPORT_BYTES),
        }
        if ctx.incidents is not None and joined:
            try:
                joining.record_trigger(ctx, data, attempt, page, report.status)
            except Exception as exc:  # noqa: BLE001
                problems.append(f"recording the trigger in incident {report.incident_id} failed: {describe_error(exc)}")
        elif ctx.incidents is not None:
            principal = report.principal
            credential = principal.access_key_id if principal and principal.type in ("IAMUser", "Root") else None
            unrecorded = attempts.remembered(ctx.incident_id)
            try:
                ctx.incidents.record(
                    data,
                    [*unrecorded, attempt],
                    status=report.status,
                    access_key_id=credential,
                    principal_arn=principal.arn if principal and principal.type == "IAMUser" else None,
                    quarantined=_quarantined(ctx, report),
                )
                attempts.forget(ctx.incident_id)
            except Exception as exc:  # noqa: BLE001
                problems.append(f"recording the incident failed: {describe_error(exc)}")
                attempt["failures"] = attempt["failures"] + problems[-1:]
                attempts.remember(ctx.incident_id, attempt)
        try:
            joining.settle(ctx, data, notified, report.status)
        except Exception as exc:  # noqa: BLE001 - the claim's lease expires by itself
            logger.warning("incident claim not updated", extra={"error": describe_error(exc)})
    counts = report.counts()
    metrics.add_metric(name="Responses", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="InstancesTerminated", unit=MetricUnit.Count, value=counts[("terminate-instance", "done")])
    metrics.add_metric(
        name="RegionsFailed", unit=MetricUnit.Count, value=sum(1 for s in report.regions.values() if s == "failed")
    )
    logger.info(
        "response finished",
        extra={
            "headline": data["headline"],
            "regions": data["regions"],
            "failures": data["failures"],
            "seconds": data["durationSeconds"],
            "attempt": data["attempt"],
        },
    )
    if report.failed or problems:
        raise IncompleteResponse(f"incident {report.incident_id}: " + "; ".join(report.failures() + problems))
    return data


def _notify(ctx: ResponseContext, data: dict[str, Any], problems: list[str]) -> bool:
    try:
        publish(ctx.home, ctx.settings.notify_topic_arn, data)
    except Exception as exc:  # noqa: BLE001 - still record, then raise
        problems.append(f"notification failed: {describe_error(exc)}")
        return False
    return True


QUARANTINING = {  # a done step of these actions puts its target under the incident (release-principal checks it)
    ActionName.QUARANTINE_USER: "user",
    ActionName.QUARANTINE_ROLE: "role",
    ActionName.REVOKE_ROLE_SESSIONS: "role",
}


def _quarantined(ctx: ResponseContext, report: Report) -> list[str]:
    found = {
        ctx.iam_arn(QUARANTINING[ActionName(o.step.action)], o.step.target)
        for o in report.outcomes
        if o.status == "done" and o.step.action in QUARANTINING
    }
    return sorted(arn for arn in found if arn)


def _security_hub(ctx: ResponseContext, data: dict[str, Any], call: Callable[..., dict[str, Any]]) -> None:
    """The incident's Security Hub finding (never raises: containment and the notification come first). What
    Security Hub accepted goes into the report, and a failure into NEEDS A HUMAN; it is not retried (a retry
    would contain and notify again for a secondary channel): the next attempt or the close sends it whole."""
    account = ctx.own_account or ctx.account
    region = ctx.settings.home_region
    outcome: dict[str, Any] = {"status": "failed", "detail": "the responder's own account is unknown"}
    if account:
        try:
            outcome = call(account=account, region=region, partition=ctx.settings.partition)
        except Exception as exc:  # whatever went wrong, the notification still goes out
            logger.exception("security hub")
            outcome = {"status": "failed", "detail": describe_error(exc)}
    data["securityHub"] = outcome
    if outcome.get("status") == "failed":
        data["needsHuman"] = [
            *data.get("needsHuman", []),
            f"Security Hub was NOT updated ({outcome.get('detail')}): check that Security Hub is enabled in "
            f"{region} for account {account}; this notification and the incident record are complete.",
        ]


def _finish_lifecycle(ctx: ResponseContext, report: Report, problems: list[str]) -> dict[str, Any]:
    """A close or release: notify, and record it in every incident it concerns (never as an attempt of them)."""
    data = report.to_json()
    lifecycle = report.lifecycle or {}
    closed = [
        o.step.target for o in report.outcomes if o.step.action == ActionName.CLOSE_INCIDENT and o.status == "done"
    ]
    if closed and ctx.settings.security_hub_findings:
        note, by = f"Closed: {lifecycle.get('reason')}", str(lifecycle.get("by"))
        _security_hub(ctx, data, lambda **where: resolve_findings(ctx.home, closed, note=note, by=by, **where))
    notified = _notify(ctx, data, problems)
    if ctx.incidents is not None and not ctx.dry_run:
        entry = {
            **lifecycle,
            "requestId": ctx.request_id or ctx.incident_id,
            "notified": notified,
            "failures": report.failures() + problems,
            "report": fit(data, MAX_REPORT_BYTES // 2),
        }
        try:
            ctx.incidents.record_lifecycle(report.concerns or [report.incident_id], entry)
        except Exception as exc:  # noqa: BLE001 - raise after, as for every record
            problems.append(f"recording the {lifecycle.get('runbook')} failed: {describe_error(exc)}")
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
    ctx: ResponseContext, event: dict[str, Any], context: Any, run: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """Powertools idempotency keyed on the envelope id: a redelivery returns the first report and
    notifies nobody. If the idempotency table itself fails, containment still runs (once)."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyPersistenceLayerError,
    )

    table = str(ctx.settings.idempotency_table)
    client = ctx.home.get("dynamodb", ctx.settings.home_region)
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
        try:
            result["report"] = run()
        except Exception as exc:
            result["error"] = exc
            raise
        return fit(result["report"], IDEMPOTENCY_RECORD_BYTES)  # a DynamoDB item holds 400 KB

    try:
        stored = respond_once(event=event)
        return result.get("report", stored)  # the full report first time; the stored one on a redelivery
    except IdempotencyAlreadyInProgressError:
        if ctx.earlier.attempts:  # an attempt finished and raised, but its in-progress mark was not removed
            logger.warning("stale in-progress mark after a failed attempt; responding again")
            return run()
        logger.info("duplicate delivery while the first is still being handled: nothing done")
        return duplicate(ctx, event)
    except IdempotencyPersistenceLayerError as exc:
        if "error" in result:  # the response itself failed; the mark could not be removed: raise for the retry
            raise result["error"] from exc
        logger.warning("idempotency store failed; responding without it", extra={"error": describe_error(exc)})
        return result["report"] if "report" in result else run()


def duplicate(ctx: ResponseContext, event: dict[str, Any]) -> dict[str, Any]:
    """The answer to a concurrent duplicate delivery: not an error (nothing failed), not a second notification."""
    report = ctx.new_report(
        headline=f"duplicate delivery of event {event.get('id')} while the first is still being handled: "
        "nothing done here (the first delivery notifies)",
        severity="info",
    )
    report.status = "duplicate"
    return report.to_json()
