"""The notification's human text: what happened, what was done (confirmed by AWS), what failed, what was
left alone and why, what needs a human. Pure: it reads the report JSON only."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from .wording import count_lines

SUBJECT_MAX = 99  # SNS: "less than 100 characters", ASCII, no line breaks
LIST_LIMIT = 25
TOP_CALLS = 10  # WHAT THE KEY DID: the most frequent calls shown

REGION_WORDS = {  # a dry-run changed nothing: it must not call a region contained
    False: {"contained": "contained", "clean": "clean", "failed": "failed"},
    True: {"contained": "with rogue capacity to stop", "clean": "clean", "failed": "failed"},
}
FACT_MAX = 500  # characters of one fact in the summary (the JSON report has them whole, or cut to fit)
_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")


def subject_line(report: dict[str, Any]) -> str:
    """SNS: under 100 printable ASCII characters, no line breaks or control characters (NUL, BEL ...)."""
    text = f"[{str(report.get('severity', 'high')).upper()}] {report.get('headline') or 'compromise response'}"
    if report.get("mode") == "dry-run":
        text = "[DRY-RUN] " + text
    text = " ".join(_UNPRINTABLE.sub(" ", text).split()) or "[HIGH] compromise response"
    return text if len(text) <= SUBJECT_MAX else text[: SUBJECT_MAX - 3].rstrip() + "..."


def _listed(items: list[str]) -> list[str]:
    """``  - item`` lines, at most LIST_LIMIT, then how many more the JSON report holds."""
    lines = [f"  - {item}" for item in items[:LIST_LIMIT]]
    if len(items) > LIST_LIMIT:
        lines.append(f"  ... and {len(items) - LIST_LIMIT} more (see the JSON report)")
    return lines


def _short(value: Any, limit: int = FACT_MAX) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _counts(counts: dict[str, Any], limit: int) -> str:
    """``ec2 310, iam 60, ... (+3 more)``."""
    items = list(counts.items())
    text = ", ".join(f"{_short(k, 80)} {v}" for k, v in items[:limit])
    return text + (f" (+{len(items) - limit} more)" if len(items) > limit else "")


def activity_lines(activity: dict[str, Any]) -> list[str]:
    """WHAT THE KEY DID: counts, what it changed (listed first), the most frequent calls, where from."""
    complete = bool(activity.get("complete"))
    calls = int(activity.get("calls") or 0)
    lines = [
        "WHAT THE KEY DID (CloudTrail management events in the window"
        + ("" if complete else "; INCOMPLETE: see NOT READ")
        + ")"
    ]
    if not calls:
        lines.append("  no calls found" + ("" if complete else " in the regions read"))
    else:
        lines.append(
            f"  {calls} calls from {activity.get('firstSeen')} to {activity.get('lastSeen')}; "
            f"by region: {_counts(activity.get('byRegion') or {}, 8)}"
        )
        writes = activity.get("writes") or {}
        if writes:
            lines.append(f"  CHANGES IT MADE OR TRIED ({sum(writes.values())} calls): IAM, launches, policies, logging")
            lines += [f"  {line}" for line in _listed([f"{k} x{v}" for k, v in writes.items()])]
        lines.append(f"  most frequent calls: {_counts(activity.get('byEvent') or {}, TOP_CALLS)}")
        lines.append(f"  by service: {_counts(activity.get('byService') or {}, 10)}")
        ips = [str(ip) for ip in activity.get("sourceIPs") or []]
        agents = [str(agent) for agent in activity.get("userAgents") or []]
        lines.append(f"  source IPs ({len(ips)}): {', '.join(_short(ip, 60) for ip in ips[:10])}")
        if len(ips) > 10:
            lines[-1] += f" (+{len(ips) - 10} more)"
        lines.append(f"  user agents ({len(agents)}): {'; '.join(_short(a, 120) for a in agents[:3])}")
    for region, why in (activity.get("unread") or {}).items():
        lines.append(f"  NOT READ {_short(region, 40)}: {_short(why, 300)}")
    return lines


def summary(report: dict[str, Any]) -> str:
    """The human part: what happened, what was done, what was left alone, what needs a human."""
    dry = report.get("mode") == "dry-run"
    lines = [
        f"{str(report.get('severity', 'high')).upper()}: {report.get('headline', '')}",
        f"Incident {report['incidentId']} | trigger: {report['trigger']} | mode: {report['mode']}"
        + (" (NOTHING WAS CHANGED: this is the plan)" if dry else ""),
        "",
        "WHAT HAPPENED",
    ]
    facts = report.get("facts") or {}
    for key, value in list(facts.items())[: LIST_LIMIT * 2]:
        if value not in (None, "", [], {}):
            lines.append(f"  {_short(key, 60)}: {_short(value)}")
    if report.get("account"):
        lines.append(f"  account: {report['account']}")
    principal = report.get("principal")
    if principal:
        lines.append(
            f"  principal: {principal.get('type')} {principal.get('name')}"
            + (f", key {principal['accessKeyId']}" if principal.get("accessKeyId") else "")
        )
    if report.get("window"):
        lines.append(f"  incident window: {report['window']['start']} .. {report['window']['end']}")
    lifecycle = report.get("lifecycle")
    if lifecycle:
        lines.append(f"  {lifecycle.get('runbook')} by: {_short(lifecycle.get('by'), 300)}")
        lines.append(f"  why: {_short(lifecycle.get('reason'))}")
        lines.append(f"  incidents: {', '.join(lifecycle.get('incidents') or []) or 'none on record'}")

    actions = report.get("actions", [])
    lines += ["", "WHAT WOULD BE DONE (dry-run)" if dry else "WHAT WAS DONE (confirmed by AWS)"]
    did = [f"  - {line}" for line in count_lines(((a["action"], a["status"]) for a in actions), dry)]
    lines += did or ["  - nothing was changed" if not dry else "  - nothing to change"]
    for a in actions:
        if a["region"] == "global" and a["status"] in ("done", "planned", "failed"):
            lines.append(
                f"    {a['action']} {a['target']}: {a['status']}"
                + (f" ({_short(a['detail'], 300)})" if a.get("detail") else "")
            )
    cost = report.get("estimatedHourlyCostStopped", 0)
    if cost:
        verb = "that would be stopped" if dry else "stopped"
        lines.append(f"  - estimated on-demand cost {verb}: ${cost:,.2f}/hour")
    regions = report.get("regions") or {}
    by_status: dict[str, list[str]] = {}
    for region, status in regions.items():
        by_status.setdefault(status, []).append(region)
    if regions:
        lines.append(
            "  regions: "
            + ", ".join(f"{len(by_status.get(s, []))} {REGION_WORDS[dry][s]}" for s in ("contained", "clean", "failed"))
            + (f" ({', '.join(by_status['contained'])})" if by_status.get("contained") else "")
        )
        per_region = Counter(
            a["region"] for a in actions if a["status"] in ("done", "planned") and a["region"] != "global"
        )
        for region in by_status.get("contained", []):
            kinds = Counter(
                a["action"] for a in actions if a["region"] == region and a["status"] in ("done", "planned")
            )
            lines.append(
                f"    {region}: "
                + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
                + f" ({per_region[region]} steps)"
            )

    hub = report.get("securityHub")
    if hub:
        ids = hub.get("findingId") or ", ".join(hub.get("findingIds") or [])
        state = {"imported": "imported/updated", "resolved": "set RESOLVED"}.get(str(hub.get("status")), "NOT updated")
        lines.append(
            f"  Security Hub finding {ids}: {state}" + (f" ({_short(hub['detail'], 300)})" if hub.get("detail") else "")
        )

    failures = report.get("failures") or []
    if failures:
        lines += [
            "",
            f"FAILED ({len(failures)}): the platform retries; the retry keeps what was done and redoes nothing",
        ]
        lines += _listed([_short(f, 400) for f in failures])

    earlier = report.get("earlierAttempts") or []
    if earlier:
        lines += ["", f"ATTEMPTS: this is attempt {report.get('attempt')}; the counts above cover every attempt"]
        for a in earlier[:LIST_LIMIT]:
            told = {True: "team notified", False: "notification FAILED"}.get(a.get("notified"), "")
            lines.append(
                f"  - attempt {a.get('attempt')} at {a.get('startedAt')}: {a.get('done', 0)} steps confirmed"
                + (f", {len(a.get('failures') or [])} failed" if a.get("failures") else "")
                + (f", {told}" if told else "")
            )
            lines += [f"      {_short(f, 300)}" for f in (a.get("failures") or [])[:5]]

    if report.get("activity") is not None:
        lines += ["", *activity_lines(report["activity"])]

    skipped = [a for a in actions if a["status"] == "skipped"]
    if skipped:
        lines += ["", f"LEFT ALONE ({len(skipped)})"]
        lines += _listed([f"{a['target']} ({a['region']}): {_short(a['reason'], 300)}" for a in skipped])

    findings = report.get("persistence") or []
    if findings:
        lines += ["", f"PERSISTENCE FOUND ({len(findings)}): what the principal created to come back"]
        lines += _listed(
            [
                f"{f['kind']} {f['target']} by {f.get('creator')} at {f.get('time')} ({f.get('eventName')}, "
                f"{f.get('source')})" + (f" -> {f['response']}" if f.get("response") else "")
                for f in findings
            ]
        )

    lines += left_behind_lines(report.get("leftBehind") or [], dry)

    todo = report.get("needsHuman") or []
    if todo:
        lines += ["", "NEEDS A HUMAN"]
        lines += [f"  {i}. {_short(t)}" for i, t in enumerate(todo[:LIST_LIMIT], 1)]
    return "\n".join(lines)


def left_behind_lines(items: list[dict[str, Any]], dry: bool) -> list[str]:
    """WHAT THE ATTACKER LEFT BEHIND: what was undone (as AWS confirmed), then what only a human may change."""
    if not items:
        return []
    undone = [i for i in items if i.get("undo") != "needs a human"]
    human = [i for i in items if i.get("undo") == "needs a human"]
    lines = ["", f"WHAT THE ATTACKER LEFT BEHIND ({len(undone)} to undo, {len(human)} for a human)"]
    lines += _listed(
        [
            f"{i['call']} on {i['target']} ({i['region']}, {i.get('at')}) -> {i.get('response') or i['undo']}"
            for i in undone
        ]
    )
    if human:
        lines.append("  for a human (holds data, runs workloads or is protected: never changed automatically):")
        lines += _listed([f"{i['call']} on {i['target']} ({i['region']}, {i.get('at')}): {_short(i['why'], 300)}"
                          for i in human])  # fmt: skip
    return lines
