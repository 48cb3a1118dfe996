"""Rich renderings of what the CLI shows: reports, region progress, sample events, notifications.

Everything works on the report JSON (``Report.to_json()``), so a plan made here and a report
returned by the deployed function look the same. Statuses are always spelled out in words, so
the output stays readable without color (NO_COLOR, pipes, CI logs).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

STYLES = {
    "contained": "bold green",
    "clean": "green",
    "failed": "bold red",
    "done": "green",
    "planned": "yellow",
    "skipped": "dim",
}
ACTING = ("planned", "done", "failed")


def style(status: str) -> str:
    return STYLES.get(status, "")


def report(console: Console, data: Mapping[str, Any]) -> None:
    """The whole report, most important first: headline, regions, actions, what is left alone, to-dos."""
    header(console, data)
    regions(console, data)
    actions(console, data)
    left_alone(console, data)
    if data.get("activity") is not None:
        activity_section(console, data["activity"])
    needs_human(console, data)
    failures(console, data.get("failures") or [])


def header(console: Console, data: Mapping[str, Any]) -> None:
    """Headline in a panel; below it who, which mode, and the cost stopped (the numbers on-call asks for)."""
    mode = str(data.get("mode", "?"))
    title = (
        f"{'PLAN (dry run, nothing changed)' if mode == 'dry-run' else 'ENFORCED'} - severity {data.get('severity')}"
    )
    console.print(Panel(Text(str(data.get("headline") or "(no headline)"), style="bold"), title=title, expand=True))
    principal = data.get("principal") or {}
    who = f"{principal.get('type')} {principal.get('name')}" if principal else "none"
    if principal.get("accessKeyId"):
        who += f" (key {principal['accessKeyId']})"
    verb = "would stop" if mode == "dry-run" else "stopped"
    console.print(
        f"incident {data.get('incidentId')}  trigger {data.get('trigger')}  mode {mode}  principal {who}\n"
        f"estimated hourly cost {verb}: ${data.get('estimatedHourlyCostStopped', 0):,.2f}/h",
        markup=False,
    )


def regions(console: Console, data: Mapping[str, Any]) -> None:
    """One row per swept region with what happened there, so a failed region stands out."""
    swept: Mapping[str, str] = data.get("regions") or {}
    if not swept:
        console.print("regions: none swept by this runbook")
        return
    per_region: dict[str, Counter[str]] = {}
    for action in data.get("actions") or []:
        per_region.setdefault(str(action.get("region")), Counter())[str(action.get("status"))] += 1
    attribution: Mapping[str, str] = data.get("attribution") or {}
    table = Table(title="Regions", title_justify="left")
    for column in ("region", "status", "acting", "left alone", *(("attribution",) if attribution else ())):
        table.add_column(column)
    for region, status in swept.items():
        counts = per_region.get(region, Counter())
        cells: list[str | Text] = [region, Text(status, style=style(status))]
        cells += [str(sum(counts[s] for s in ACTING)), str(counts["skipped"])]
        table.add_row(*cells, *((str(attribution.get(region, "")),) if attribution else ()))
    console.print(table)


def _action_table(title: str, rows: Iterable[Mapping[str, Any]], with_status: bool = True) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("action", "target", "region", *(("status",) if with_status else ()), "why"):
        table.add_column(column, overflow="fold")
    for row in rows:
        why = str(row.get("reason", ""))
        if row.get("detail"):
            why += f" - {row['detail']}"
        status = str(row.get("status", ""))
        cells: list[str | Text] = [str(row.get("action")), str(row.get("target")), str(row.get("region"))]
        table.add_row(*cells, *((Text(status, style=style(status)),) if with_status else ()), why)
    return table


def actions(console: Console, data: Mapping[str, Any]) -> None:
    """What would be done (plan) or was done (enforce), failed steps included."""
    rows = [a for a in data.get("actions") or [] if a.get("status") in ACTING]
    title = "Would do" if data.get("mode") == "dry-run" else "Actions"
    if not rows:
        console.print(f"{title}: nothing")
        return
    console.print(_action_table(f"{title} ({len(rows)})", rows))


def left_alone(console: Console, data: Mapping[str, Any]) -> None:
    """What the responder examined and deliberately did not touch, with the reason: the trust part."""
    rows = [a for a in data.get("actions") or [] if a.get("status") == "skipped"]
    if rows:
        console.print(_action_table(f"Left alone ({len(rows)})", rows, with_status=False))


def needs_human(console: Console, data: Mapping[str, Any]) -> None:
    todo: Sequence[str] = data.get("needsHuman") or []
    if todo:
        console.print("[bold]Needs a human:[/bold]")
        for item in todo:
            console.print(f"  - {item}", markup=False)


def failures(console: Console, items: Sequence[str], title: str = "FAILED:") -> None:
    if items:
        console.print(Text(title, style="bold red"))
        for item in items:
            console.print(Text(f"  - {item}", style="red"))


def incomplete(console: Console, message: str) -> None:
    """An ``IncompleteResponse`` (``incident X: a; b``): raised after the team was notified, one line per failure."""
    head, sep, tail = message.partition(": ")
    if sep and head.startswith("incident "):
        failures(console, [part.strip() for part in tail.split("; ") if part.strip()], f"FAILED ({head}):")
    else:
        failures(console, [message])


def progress(console: Console, result: Any, dry_run: bool) -> None:
    """One line per region as it finishes (a ``responder.core.model.RegionResult``)."""
    counts = Counter(o.status for o in result.outcomes)
    verb = "to act on" if dry_run else "acted on"
    line = Text("  ")
    line.append(f"{result.region:<16}")
    line.append(f"{result.status:<10}", style=style(result.status))
    line.append(f" {sum(counts[s] for s in ACTING)} {verb}, {counts['skipped']} left alone  ({result.seconds:.1f} s)")
    if result.error:
        line.append(f"  {result.error}", style="red")
    console.print(line)


def events(console: Console, rows: Iterable[tuple[str, str, str]]) -> None:
    table = Table(title="Sample events", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("file", overflow="fold", ratio=2)
    table.add_column("handler", no_wrap=True)
    table.add_column("summary", overflow="fold", ratio=3)
    for name, handler, summary in rows:
        table.add_row(name, handler, summary)
    console.print(table)


def notifications(console: Console, items: Sequence[Any]) -> None:
    """What the team topic received (``emulator.Notification``: subject, summary)."""
    if not items:
        console.print("team topic: no notification published")
        return
    for note in items:
        console.print(Panel(Text(note.summary.strip()), title=f"SNS: {note.subject}", title_align="left"))


def function_error(console: Console, payload: Any, kind: str) -> None:
    """The error a deployed function raised (``errorType``/``errorMessage``), incomplete responses listed."""
    body = payload if isinstance(payload, dict) else {"errorMessage": str(payload)}
    console.print(Text(f"The runbook function failed ({kind}): {body.get('errorType', 'error')}", style="bold red"))
    incomplete(console, str(body.get("errorMessage", "")))


def incidents(console: Console, items: Sequence[Mapping[str, Any]], total: Sequence[Mapping[str, Any]]) -> None:
    """One row per incident, newest first: its status, who, and the counts of its report."""
    statuses = Counter(str(i.get("status")) for i in total)
    console.print(
        f"{len(total)} incidents in the table: "
        + ", ".join(f"{n} {s}" for s, n in sorted(statuses.items(), key=lambda kv: (kv[0] != "open", kv[0])))
        + (f"; {len(items)} shown" if len(items) != len(total) else ""),
        markup=False,
    )
    if not items:
        return
    table = Table(title="Incidents", title_justify="left")
    for column in ("incident", "status", "opened", "trigger", "severity", "principal", "attempts", "done", "failed",
                   "left alone", "regions contained", "headline"):  # fmt: skip
        table.add_column(column, overflow="fold")
    for item in items:
        counts = item.get("counts") or {}
        status = str(item.get("status"))
        table.add_row(
            str(item.get("incidentId")),
            Text(status, style={"open": "bold red", "closed": "green"}.get(status, "")),
            str(item.get("startedAt") or item.get("recordedAt") or ""),
            str(item.get("trigger") or ""),
            str(item.get("severity") or ""),
            str(item.get("principalName") or item.get("accessKeyId") or ""),
            str(item.get("attempts") or 1),
            str(counts.get("done", 0)),
            str(counts.get("failed", 0)),
            str(counts.get("skipped", 0)),
            str(item.get("regionsContained") or 0),
            str(item.get("headline") or ""),
        )
    console.print(table)


def incident(console: Console, record: Mapping[str, Any]) -> None:
    """The stored report, then every attempt, then every close and release (who, when, why)."""
    item = record.get("incident") or {}
    if item:
        line = f"incident {item.get('incidentId')}: {item.get('status')} (recorded {item.get('recordedAt')})"
        if item.get("status") == "closed":
            line += f"; closed {item.get('closedAt')} by {item.get('closedBy')}: {item.get('closeReason')}"
        console.print(line, markup=False)
    if record.get("report"):
        report(console, record["report"])
    attempts = [a for a in record.get("attempts") or [] if isinstance(a, Mapping)]
    if attempts:
        table = Table(title=f"Attempts ({len(attempts)})", title_justify="left")
        for column in ("attempt", "started", "finished", "team notified", "done", "failed"):
            table.add_column(column, overflow="fold")
        for attempt in attempts:
            actions = (attempt.get("report") or {}).get("actions") or []
            failed = attempt.get("failures") or []
            table.add_row(
                str(attempt.get("attempt")),
                str(attempt.get("startedAt")),
                str(attempt.get("finishedAt")),
                {True: "yes", False: "NO"}.get(attempt.get("notified"), "?"),
                str(sum(1 for a in actions if a.get("status") == "done")),
                Text("; ".join(str(f) for f in failed) or "0", style="red" if failed else ""),
            )
        console.print(table)
    entries = [e for e in record.get("lifecycle") or [] if isinstance(e, Mapping)]
    if entries:
        table = Table(title="Closes and releases", title_justify="left")
        for column in ("at", "runbook", "by", "why", "outcome"):
            table.add_column(column, overflow="fold")
        for entry in entries:
            outcome = "; ".join(
                f"{a.get('action')} {a.get('target')}: {a.get('status')}"
                for a in (entry.get("report") or {}).get("actions") or []
            )
            table.add_row(str(entry.get("at")), str(entry.get("runbook")), str(entry.get("by")), str(entry.get("reason")),
                          outcome)  # fmt: skip
        console.print(table)


def activity(console: Console, data: Mapping[str, Any]) -> None:
    """What a key did, as the notification's WHAT THE KEY DID section says it."""
    principal = data.get("principal") or {}
    window = data.get("window") or {}
    console.print(Panel(Text(str(data.get("headline") or ""), style="bold"), title="ACTIVITY (read-only)"))
    console.print(
        f"key {principal.get('accessKeyId')} ({principal.get('type')} {principal.get('name')}), "
        f"window {window.get('start')} .. {window.get('end')}",
        markup=False,
    )
    activity_section(console, data.get("activity") or {})


def activity_section(console: Console, activity: Mapping[str, Any]) -> None:
    """WHAT THE KEY DID, word for word as the notification has it."""
    from responder.report.summary import activity_lines

    for line in activity_lines(dict(activity)):
        console.print(line, markup=False, style="bold red" if "NOT READ" in line else "")
