"""``responder``: plan, run and replay the compromise responder from a terminal; close incidents, release
principals, list and show incidents.

Exit codes, everywhere: 0 contained or clean, 1 partial failure (a region or step failed, the
function errored), 2 bad input (the message names the field). The engine and the handlers are
imported lazily so ``--help`` and ``events`` stay instant.
"""

from __future__ import annotations

import base64
import importlib
import json
import logging
import os
import re
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from . import ROOT, render

if TYPE_CHECKING:
    from responder.core.config import Settings
    from responder.runbooks.base import RunbookBase

EVENTS_DIR = ROOT / "events"
HANDLERS = ("health", "guardduty", "cloudtrail", "runbook", "heartbeat")
PLACEHOLDER_TOPIC = "arn:aws:sns:us-east-1:000000000000:responder-cli-plan-publishes-nothing"
FUNCTION_ENV = "RESPONDER_RUNBOOK_FUNCTION"
OK, PARTIAL, BAD_INPUT = 0, 1, 2

app = typer.Typer(
    name="responder",
    help="Contain an AWS credential compromise: plan, run and replay the responder's runbooks and events.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)


class CliInputError(ValueError):
    """A problem with what was typed (file, JSON, option); the message names it. Exit code 2."""


# --- plumbing ------------------------------------------------------------------------------
def consoles() -> tuple[Console, Console]:
    """Made per command, so tests' redirected streams and COLUMNS/NO_COLOR are honoured."""
    return Console(highlight=False), Console(stderr=True, highlight=False)


@contextmanager
def exit_codes(err: Console) -> Iterator[None]:
    """Map what the engine raises to the documented exit codes, with a readable message."""
    from responder.aws import AWS_ERRORS, describe_error
    from responder.shell.entrypoint import IncompleteResponse

    try:
        yield
    except IncompleteResponse as exc:  # notified and recorded, but a region or step failed
        render.incomplete(err, str(exc))
        raise typer.Exit(PARTIAL) from None
    except ValueError as exc:  # BadInput, ConfigError, CliInputError, JSON errors: nothing changed
        err.print(f"bad input: {exc}", markup=False, style="bold red")
        raise typer.Exit(BAD_INPUT) from None
    except AWS_ERRORS as exc:
        err.print(f"AWS error: {describe_error(exc)}", markup=False, style="bold red")
        raise typer.Exit(PARTIAL) from None


def exit_for(report: dict[str, Any]) -> None:
    """0 when nothing failed (contained or clean), 1 when the report lists failures."""
    raise typer.Exit(PARTIAL if report.get("failures") else OK)


def load_json(source: str, what: str) -> Any:
    """A path to a JSON file, ``-`` for stdin, or inline JSON: whichever was typed."""
    path = Path(source)
    if source == "-":
        text, origin = sys.stdin.read(), "stdin"
    elif source.lstrip().startswith(("{", "[")):
        text, origin = source, "inline JSON"
    else:
        if not path.is_file() and (EVENTS_DIR / source).is_file():
            path = EVENTS_DIR / source  # a sample's bare name, as `responder events` lists it
        try:
            text, origin = path.read_text(), str(path)
        except OSError as exc:
            raise CliInputError(
                f"argument '{what}': cannot read {source!r} ({exc.strerror or exc}); give a file or inline JSON"
            ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliInputError(
            f"argument '{what}': {origin} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None


def region_list(value: str | None, option: str) -> tuple[str, ...] | None:
    """A comma-separated option, validated like the environment variable it stands for."""
    if value is None:
        return None
    from responder.core.partitions import not_regions, partition_of

    regions = tuple(part.strip() for part in value.split(",") if part.strip())
    bad = not_regions(regions, partition_of(os.environ.get("AWS_REGION") or "us-east-1"))
    if bad:
        raise CliInputError(f"option '{option}': not region names: {bad}")
    return regions


def load_runbook(source: str) -> tuple[dict[str, Any], RunbookBase]:
    """Parse before anything touches AWS: a bad runbook exits 2 with the field named."""
    from responder.runbooks import parse_runbook

    event = load_json(source, "RUNBOOK")
    return event, parse_runbook(event)


@dataclass
class CallerContext:
    """Lambda's ``context.client_context``: the CLI states who runs it (the handler records it as stated)."""

    custom: dict[str, Any] = field(default_factory=dict)
    env: dict[str, Any] = field(default_factory=dict)
    client: Any = None


def caller_arn() -> str | None:
    """The ARN of the credentials the CLI runs with (STS GetCallerIdentity needs no permission), if known."""
    import boto3

    try:
        return str(boto3.client("sts").get_caller_identity()["Arn"])
    except Exception:  # noqa: BLE001 - unknown caller: the record then says so, with the request id
        return None


@dataclass
class CliContext:
    """A Lambda context for in-process runs: no function ARN, so the account comes from STS."""

    function_name: str = "responder-cli"
    memory_limit_in_mb: int = 0
    invoked_function_arn: str = ""
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    client_context: CallerContext = field(default_factory=lambda: CallerContext(caller_custom()))

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def caller_custom() -> dict[str, Any]:
    arn = caller_arn()
    return {"caller": f"{arn} via the responder CLI"} if arn else {}


@contextmanager
def handler_output(verbose: bool) -> Iterator[None]:
    """In-process handlers log JSON and print EMF metrics to stdout; keep stdout for the report."""
    logger = logging.getLogger("compromise-responder")
    saved_level = logger.level
    saved_streams = [
        (h, h.stream)
        for h in logger.handlers
        if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)
    ]
    saved_env = os.environ.get("POWERTOOLS_METRICS_DISABLED")
    logger.setLevel(logging.INFO if verbose else logging.WARNING)
    for handler, _ in saved_streams:
        handler.setStream(sys.stderr)
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    try:
        yield
    finally:
        logger.setLevel(saved_level)
        for handler, stream in saved_streams:
            handler.setStream(stream)
        if saved_env is None:
            os.environ.pop("POWERTOOLS_METRICS_DISABLED", None)
        else:
            os.environ["POWERTOOLS_METRICS_DISABLED"] = saved_env


def handler_function(name: str) -> Callable[[Any, Any], dict[str, Any]]:
    """Imported on demand: the handlers pull in Powertools and the whole engine."""
    module = importlib.import_module(f"handlers.{name}")
    return module.handler  # type: ignore[no-any-return]


# --- plan ----------------------------------------------------------------------------------
def plan_settings(
    allowed_regions: str | None, protected_principals: str | None, regions: str | None, ledger_table: str | None
) -> Settings:
    """Environment first, options over it; forced dry-run; no incidents/idempotency table (read-only)."""
    from responder.core.config import TOPIC_ARN_PATTERN, Settings

    env = dict(os.environ)
    if not TOPIC_ARN_PATTERN.match(env.get("NOTIFY_TOPIC_ARN", "").strip()):
        env["NOTIFY_TOPIC_ARN"] = PLACEHOLDER_TOPIC  # plan never publishes; the topic is not needed
    settings = Settings.from_env(env)
    overrides: dict[str, Any] = {"mode": "dry-run", "incidents_table": None, "idempotency_table": None}
    allowed = region_list(allowed_regions, "--allowed-regions")
    sweep = region_list(regions, "--regions")
    if allowed is not None:
        overrides["allowed_regions"] = allowed
    if sweep is not None:
        overrides["sweep_regions"] = sweep
    if protected_principals is not None:
        overrides["protected_principals"] = tuple(p.strip() for p in protected_principals.split(",") if p.strip())
    if ledger_table is not None:
        overrides["ledger_table"] = ledger_table or None
    return replace(settings, **overrides)


@app.command()
def plan(
    runbook: Annotated[
        str, typer.Argument(metavar="RUNBOOK", help="Runbook JSON: a file, '-' for stdin, or inline JSON.")
    ],
    allowed_regions: Annotated[
        str | None, typer.Option(help="Comma-separated regions the team uses (default: $ALLOWED_REGIONS).")
    ] = None,
    protected_principals: Annotated[
        str | None, typer.Option(help="Comma-separated break-glass principals (default: $PROTECTED_PRINCIPALS).")
    ] = None,
    regions: Annotated[
        str | None, typer.Option(help="Comma-separated regions to sweep (default: $SWEEP_REGIONS, else all enabled).")
    ] = None,
    ledger_table: Annotated[
        str | None, typer.Option(help="Launch-ledger table to read for attribution (default: $LEDGER_TABLE).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report JSON instead of tables.")] = False,
) -> None:
    """Dry-run a runbook against the account of the current credentials (read-only).

    Nothing changes, nothing is published to SNS, nothing is written to DynamoDB.

    Example: responder plan '{"runbook":"sweep-regions","sinceHours":24}'
    """
    out, err = consoles()
    with exit_codes(err):
        _, command = load_runbook(runbook)
        report = make_plan(command, plan_settings(allowed_regions, protected_principals, regions, ledger_table), err)
    show(out, report, as_json)
    exit_for(report)


def make_plan(command: RunbookBase, settings: Settings, err: Console) -> dict[str, Any]:
    """The engine itself, dry-run, with a progress line per region; ``finish`` (notify/record) is skipped."""
    from responder.aws import Clients, caller_account
    from responder.core.timeutil import utcnow
    from responder.flows import not_acted
    from responder.runbooks import run_runbook
    from responder.shell.accounts import act_in, refusal
    from responder.shell.context import ResponseContext, incident_id_for

    clients = Clients()
    account = caller_account(clients, settings.home_region)
    where = ", ".join(settings.sweep_regions) or "all enabled regions"
    name = getattr(command, "runbook", type(command).__name__)
    err.print(f"planning {name} in account {command.accountId or account or 'unknown'} ({where}), dry run:")
    ctx = ResponseContext(
        settings=settings,
        clients=clients,
        trigger="runbook",
        incident_id=incident_id_for(f"cli-plan-{uuid.uuid4()}", utcnow()),
        dry_run=True,
        account=command.accountId or account,
        own_account=account,
        progress=lambda result: render.progress(err, result, dry_run=True),
    )
    why_not = refusal(ctx) or act_in(ctx)  # as the function would: never acted in an account it may not act in
    report = not_acted(ctx, why_not) if why_not else run_runbook(ctx, command)
    report.finished = utcnow()
    return report.to_json()


def show(out: Console, report: Any, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(report, indent=2, default=str))
    elif isinstance(report, dict):
        render.report(out, report)
    else:
        out.print(repr(report), markup=False)


# --- activity ------------------------------------------------------------------------------
SINCE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mhd]?)\s*$")
SINCE_UNIT_HOURS = {"m": 1 / 60, "h": 1.0, "": 1.0, "d": 24.0}


def since_hours(value: str) -> float:
    """``90m``, ``24h``, ``3d`` or a number of hours."""
    found = SINCE.match(value)
    if not found:
        raise CliInputError(f"option '--since': {value!r} is not a duration: say 90m, 24h, 3d or a number of hours")
    return float(found.group(1)) * SINCE_UNIT_HOURS[found.group(2)]


@app.command()
def activity(
    access_key_id: Annotated[str, typer.Argument(metavar="ACCESS_KEY_ID", help="The key, e.g. AKIAIOSFODNN7EXAMPLE.")],
    since: Annotated[
        str | None, typer.Option(help="How far back: 90m, 24h, 3d (default: $INCIDENT_LOOKBACK_HOURS hours).")
    ] = None,
    regions: Annotated[
        str | None, typer.Option(help="Comma-separated regions to read (default: $SWEEP_REGIONS, else all enabled).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report JSON instead of the summary.")] = False,
) -> None:
    """What a key did: its CloudTrail calls in every enabled region (read-only, nothing published).

    The runbook "activity" in-process, with the current credentials. Exit 1 when a region could not be read.

    Example: responder activity AKIAIOSFODNN7EXAMPLE --since 24h
    """
    out, err = consoles()
    with exit_codes(err):
        from responder.runbooks import parse_runbook

        event: dict[str, Any] = {"runbook": "activity", "accessKeyId": access_key_id}
        if since is not None:
            event["sinceHours"] = since_hours(since)
        report = make_plan(parse_runbook(event), plan_settings(None, None, regions, None), err)
    if as_json:
        typer.echo(json.dumps(report, indent=2, default=str))
    else:
        render.activity(out, report)
    raise typer.Exit(OK if (report.get("activity") or {}).get("complete") else PARTIAL)


# --- run -----------------------------------------------------------------------------------
def lambda_client(region: str | None) -> Any:
    """No retries (a retried invoke runs the runbook twice) and a read timeout as long as the function's."""
    import boto3
    from botocore.config import Config

    config = Config(read_timeout=900, connect_timeout=10, retries={"total_max_attempts": 1})
    return boto3.client("lambda", region_name=region or None, config=config)


def confirm_enforce(event: dict[str, Any], where: str, yes: bool) -> None:
    """Containment changes the account: ask first, unless --yes or the runbook is a dry run."""
    if yes or event.get("dryRun") is True:
        return
    from responder.runbooks import effect_of  # each runbook says what an enforcing run of it may do

    summary = ", ".join(f"{k}={v}" for k, v in event.items() if k != "reason")
    effect = effect_of(str(event.get("runbook")))
    typer.confirm(f"Run {summary} {where} ({effect})?", abort=True)


@app.command()
def run(
    runbook: Annotated[
        str, typer.Argument(metavar="RUNBOOK", help="Runbook JSON: a file, '-' for stdin, or inline JSON.")
    ],
    function_name: Annotated[
        str | None,
        typer.Option(envvar=FUNCTION_ENV, help="The deployed runbook function (name or ARN)."),
    ] = None,
    region: Annotated[str | None, typer.Option(help="Region of the function (default: the AWS config's).")] = None,
    local: Annotated[
        bool, typer.Option("--local", help="Run handlers.runbook in-process (it notifies and records).")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before an enforcing run.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report JSON instead of tables.")] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="With --local: the handler's logs on stderr.")
    ] = False,
) -> None:
    """Run a runbook: invoke the deployed function, or --local in-process.

    --local runs handlers.runbook here, with the current credentials and environment; it notifies and records.

    Both ask before an enforcing run, unless --yes or the runbook says "dryRun": true.
    """
    out, err = consoles()
    with exit_codes(err):
        event, command = load_runbook(runbook)  # dryRun is a JSON boolean here, as in the handler
        report = (
            run_local(event, command.dryRun, yes, verbose, err)
            if local
            else run_deployed(event, function_name, region, yes, err)
        )
    show(out, report, as_json)
    exit_for(report)


def run_local(event: dict[str, Any], dry_run: bool, yes: bool, verbose: bool, err: Console) -> dict[str, Any]:
    """``handlers.runbook`` in-process: parse, respond, notify, record, raise - exactly as deployed."""
    from responder.aws import caller_account, default_clients
    from responder.core.config import Settings

    settings = Settings.from_env()  # fails here (exit 2, variable named) before the prompt
    if not (settings.dry_run or yes or dry_run):
        account = caller_account(default_clients(), settings.home_region)
        confirm_enforce(event, f"locally in account {account or 'unknown'}", yes)
    handler = handler_function("runbook")
    err.print(f"running {event['runbook']} in-process ({'dry run' if dry_run else settings.mode})...")
    with handler_output(verbose):
        return handler(event, CliContext())


def run_deployed(
    event: dict[str, Any], function_name: str | None, region: str | None, yes: bool, err: Console
) -> dict[str, Any]:
    """``lambda:InvokeFunction`` (RequestResponse) and the report it returns; a FunctionError exits 1."""
    if not function_name:
        raise CliInputError(f"option '--function-name': required (or set {FUNCTION_ENV}), or use --local")
    confirm_enforce(event, f"with function {function_name}", yes)
    err.print(f"invoking {function_name}...")
    custom = caller_custom()  # who runs it, for the incident's record (close-incident, release-principal)
    extra = {"ClientContext": base64.b64encode(json.dumps({"custom": custom}).encode()).decode()} if custom else {}
    resp = lambda_client(region).invoke(
        FunctionName=function_name, InvocationType="RequestResponse", Payload=json.dumps(event).encode(), **extra
    )
    raw = resp["Payload"].read()
    try:
        payload = json.loads(raw or b"null")
    except json.JSONDecodeError:
        payload = raw.decode(errors="replace")
    if resp.get("FunctionError"):
        render.function_error(err, payload, str(resp["FunctionError"]))
        bad = isinstance(payload, dict) and payload.get("errorType") in ("BadInput", "ConfigError")
        raise typer.Exit(BAD_INPUT if bad else PARTIAL)
    if not isinstance(payload, dict):
        raise CliInputError(
            f"function {function_name}: returned {payload!r}, not a report: is it the runbook function?"
        )
    return payload


# --- replay --------------------------------------------------------------------------------
def handler_for(name: str, event: Any) -> str | None:
    """The file name prefix (``health-...json``) first, else what the event says it is."""
    prefix = Path(name).name.split("-", 1)[0]
    if prefix in HANDLERS:
        return prefix
    if not isinstance(event, dict):
        return None
    if "runbook" in event:
        return "runbook"
    if event.get("source") == "aws.health":
        return "health"
    if event.get("source") == "aws.guardduty":
        return "guardduty"
    if event.get("detail-type") == "AWS API Call via CloudTrail":
        return "cloudtrail"
    if event.get("source") == "aws.events" and event.get("detail-type") == "Scheduled Event":
        return "heartbeat"
    return None


@app.command()
def replay(
    event_file: Annotated[
        str, typer.Argument(metavar="EVENT", help="A saved event: a file, a name from `responder events`, or '-'.")
    ],
    emulated: Annotated[
        bool, typer.Option("--emulated", help="Against an empty emulated account (moto), not the real one.")
    ] = False,
    handler: Annotated[
        str | None, typer.Option("--handler", help=f"One of {', '.join(HANDLERS)} (default: from file name/event).")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Without --emulated: do not ask first.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="The handler's logs on stderr.")] = False,
) -> None:
    """Feed a saved event to its handler in-process (--emulated: against moto).

    --emulated: an empty emulated account (plus IAM user ci-deployer, owner of the sample key); shows what the team
    topic received.

    Without --emulated the REAL account of the current credentials is used.
    """
    out, err = consoles()
    with exit_codes(err):
        event = load_json(event_file, "EVENT")
        name = handler or handler_for(event_file, event)
        if name not in HANDLERS:
            raise CliInputError(
                f"option '--handler': {name!r} is not one of {list(HANDLERS)}"
                if handler
                else "argument 'EVENT': cannot tell the handler from the file name or the event's source/detail-type; "
                f"give option '--handler' ({', '.join(HANDLERS)})"
            )
        if emulated:
            report = replay_emulated(name, event, out, err, verbose)
        else:
            report = replay_real(name, event, yes, verbose, out, err)
    exit_for(report)


def emulator() -> tuple[Any, Any, str]:
    """The emulator (``tools/emulator``) needs moto, a development requirement: imported only when asked for."""
    try:
        from compromise_responder.tools.emulator import EmulatedAws, LambdaContext
        from compromise_responder.tools.emulator.scenarios import LEAKED_KEY
    except ImportError as exc:
        raise CliInputError(
            f"option '--emulated': needs tools/emulator and the dev requirements (moto): {exc}"
        ) from None
    return EmulatedAws, LambdaContext, LEAKED_KEY


def replay_emulated(name: str, event: Any, out: Console, err: Console, verbose: bool) -> dict[str, Any]:
    """An empty emulated account with the sample key's owner, so the samples resolve to a real user."""
    emulated_aws, lambda_context, key = emulator()
    err.print(f"replaying to handlers.{name} in an emulated account (moto); nothing real is touched")
    with emulated_aws() as aws:
        aws.create_user("ci-deployer", key_id=key)
        handler = handler_function(name)
        try:
            with handler_output(verbose):
                report = handler(event, lambda_context())
            render.report(out, report)
            return report
        finally:  # what the team was told, also when the handler raised
            render.notifications(out, aws.notifications())


def replay_real(name: str, event: Any, yes: bool, verbose: bool, out: Console, err: Console) -> dict[str, Any]:
    from responder.core.config import Settings

    settings = Settings.from_env()
    err.print(
        f"WARNING: replaying to handlers.{name} against the REAL account of the current credentials, "
        f"mode {settings.mode}, notifying {settings.notify_topic_arn}",
        style="bold yellow",
        markup=False,
    )
    if not (yes or settings.dry_run):
        typer.confirm("Continue (this may deactivate keys and terminate instances)?", abort=True)
    handler = handler_function(name)
    with handler_output(verbose):
        report = handler(event, CliContext())
    render.report(out, report)
    return report


# --- the incident's life: close, release, list, show ------------------------------------------------
Target = Annotated[str | None, typer.Option(envvar=FUNCTION_ENV, help="The deployed runbook function (name or ARN).")]
Local = Annotated[bool, typer.Option("--local", help="Run handlers.runbook in-process (it notifies and records).")]
Reason = Annotated[str, typer.Option("--reason", help="Why: recorded in the incident with who and when.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Show what would be done; change nothing.")]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before an enforcing run.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the report JSON instead of tables.")]
Region = Annotated[str | None, typer.Option(help="Region of the function or table (default: the AWS config's).")]


def lifecycle_runbook(
    event: dict[str, Any], function_name: str | None, region: str | None, local: bool, yes: bool, as_json: bool
) -> None:
    """Validate as the handler does (exit 2, the field named), then run like ``responder run``."""
    from responder.runbooks import parse_runbook

    out, err = consoles()
    with exit_codes(err):
        command = parse_runbook({k: v for k, v in event.items() if v is not None})
        event = {k: v for k, v in event.items() if v is not None}
        report = (
            run_local(event, command.dryRun, yes, False, err)
            if local
            else run_deployed(event, function_name, region, yes, err)
        )
    show(out, report, as_json)
    exit_for(report)


@app.command()
def close(
    reason: Reason,
    key: Annotated[str | None, typer.Option("--key", help="Close every open incident of this access key id.")] = None,
    incident: Annotated[str | None, typer.Option("--incident", help="Close this incident (inc-YYYYMMDD-...).")] = None,
    dry_run: DryRun = False,
    function_name: Target = None,
    region: Region = None,
    local: Local = False,
    yes: Yes = False,
    as_json: AsJson = False,
) -> None:
    """Close an incident: later launches by its key are no longer contained at once. Changes nothing else.

    Example: responder close --key AKIAIOSFODNN7EXAMPLE --reason "key rotated, workloads checked"
    """
    event = {"runbook": "close-incident", "accessKeyId": key, "incidentId": incident, "reason": reason}
    lifecycle_runbook({**event, "dryRun": True if dry_run else None}, function_name, region, local, yes, as_json)


@app.command()
def release(
    reason: Reason,
    user: Annotated[str | None, typer.Option("--user", help="The IAM user to release.")] = None,
    role: Annotated[str | None, typer.Option("--role", help="The IAM role to release.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Even while an open incident concerns it.")] = False,
    dry_run: DryRun = False,
    function_name: Target = None,
    region: Region = None,
    local: Local = False,
    yes: Yes = False,
    as_json: AsJson = False,
) -> None:
    """Remove the responder's quarantine policy from a user or role (nothing else); refused while an open
    incident concerns it, unless --force.

    Example: responder release --user ci-deployer --reason "owner confirmed"
    """
    event = {"runbook": "release-principal", "userName": user, "roleName": role, "reason": reason}
    extra = {"force": True if force else None, "dryRun": True if dry_run else None}
    lifecycle_runbook({**event, **extra}, function_name, region, local, yes, as_json)


def incidents_store(table: str | None, region: str | None) -> Any:
    """The incidents table, read with the current credentials (the CLI's own reads: no function needs them)."""
    from responder.aws import Clients
    from responder.record.store import Incidents

    if not table:
        raise CliInputError("option '--table': required (or set INCIDENTS_TABLE): the stack's incidents table")
    return Incidents(Clients(), table, region or os.environ.get("AWS_REGION") or "us-east-1")


IncidentsTable = Annotated[str | None, typer.Option("--table", envvar="INCIDENTS_TABLE", help="The incidents table.")]


@app.command()
def incidents(
    status: Annotated[
        str, typer.Option(help="open, closed or all (all: also notified, contained, planned...).")
    ] = "all",
    table: IncidentsTable = None,
    region: Region = None,
    as_json: AsJson = False,
) -> None:
    """List the incidents in the incidents table, newest first, with their counts."""
    out, err = consoles()
    with exit_codes(err):
        if status not in ("open", "closed", "all"):
            raise CliInputError(f"option '--status': {status!r} is not one of open, closed, all")
        items = incidents_store(table, region).summaries()
    shown_items = [i for i in items if status == "all" or i.get("status") == status]
    if as_json:
        typer.echo(json.dumps(shown_items, indent=2, default=str))
    else:
        render.incidents(out, shown_items, total=items)


@app.command("show")
def show_incident(
    incident: Annotated[str, typer.Argument(metavar="INCIDENT", help="The incident id (inc-YYYYMMDD-...).")],
    table: IncidentsTable = None,
    region: Region = None,
    as_json: AsJson = False,
) -> None:
    """One incident: its stored report (every attempt folded in), each attempt, each close and release."""
    from responder.parse.events import INCIDENT_ID

    out, err = consoles()
    with exit_codes(err):
        if not INCIDENT_ID.match(incident):
            raise CliInputError(f"argument 'INCIDENT': {incident!r} is not an incident id (inc-YYYYMMDD-0123456789)")
        history = incidents_store(table, region).history(incident)
        if not history:
            raise CliInputError(f"argument 'INCIDENT': no incident {incident} in the incidents table")
    record = incident_record(history)
    if as_json:
        typer.echo(json.dumps(record, indent=2, default=str))
    else:
        render.incident(out, record)


def incident_record(items: list[dict[str, Any]]) -> dict[str, Any]:
    """The incident's items as one record: the incident (without its report), the report, attempts, lifecycle."""
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_kind.setdefault(str(item["sk"]).split("#", 1)[0], []).append(item)
    incident = next(iter(by_kind.get("incident", [])), {})

    def parsed(item: dict[str, Any], key: str) -> Any:
        try:
            return json.loads(str(item.get(key) or "null"))
        except ValueError:
            return None

    return {
        "incident": {k: v for k, v in incident.items() if k not in ("report", "pk", "sk")},
        "report": parsed(incident, "report") if incident else None,
        "attempts": [parsed(i, "attempt") for i in sorted(by_kind.get("attempt", []), key=lambda i: str(i["sk"]))],
        "lifecycle": [parsed(i, "lifecycle") for i in sorted(by_kind.get("lifecycle", []), key=lambda i: str(i["sk"]))],
        "findings": parsed(by_kind["findings"][0], "findings") if by_kind.get("findings") else [],
    }


# --- demo ----------------------------------------------------------------------------------
@app.command()
def demo() -> None:
    """Replay incident 1 (leaked key, spot swarm in every region) against emulated AWS and check the result."""
    from .demo import run_demo

    out, _ = consoles()
    raise typer.Exit(run_demo(out))


# --- events --------------------------------------------------------------------------------
def summarize(handler: str | None, event: Any) -> str:
    """One line: the runbook and its fields, or the detail-type and what kind of event it is."""
    if not isinstance(event, dict):
        return f"not a JSON object ({type(event).__name__})"
    detail: dict[str, Any] = event["detail"] if isinstance(event.get("detail"), dict) else {}
    if handler == "runbook":
        fields = ", ".join(f"{k}={json.dumps(v)}" for k, v in event.items() if k not in ("runbook", "reason"))
        reason = f' - "{event["reason"]}"' if event.get("reason") else ""
        return f"{event.get('runbook')}: {fields}{reason}"
    kind = {
        "health": detail.get("eventTypeCode"),
        "guardduty": f"{detail.get('type')} (severity {detail.get('severity')})",
        "cloudtrail": f"{detail.get('eventName')} in {detail.get('awsRegion')}"
        + (f" (error {detail['errorCode']})" if detail.get("errorCode") else ""),
    }.get(handler or "", "")
    return f"{event.get('detail-type', '?')}: {kind}" if kind else str(event.get("detail-type", "?"))


def event_rows(directory: Path) -> list[tuple[str, str, str]]:
    rows = []
    for path in sorted(directory.glob("*.json")):
        try:
            event = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            rows.append((path.name, "?", f"unreadable: {exc}"))
            continue
        handler = handler_for(path.name, event)
        rows.append((path.name, handler or "?", summarize(handler, event)))
    return rows


@app.command()
def events(
    directory: Annotated[Path, typer.Argument(help="Directory of sample events.")] = EVENTS_DIR,
) -> None:
    """List the sample events (replay one with `responder replay NAME --emulated`)."""
    out, err = consoles()
    if not directory.is_dir():
        err.print(f"bad input: DIRECTORY: {directory} is not a directory", markup=False, style="bold red")
        raise typer.Exit(BAD_INPUT)
    render.events(out, event_rows(directory))


if __name__ == "__main__":  # pragma: no cover
    app()
