"""Incident 1 (2014): keys leaked on GitHub, persistent g2.8xlarge spot requests in every region.

Replayed against an emulated AWS account (moto + the emulator's gap fillers): the team's own
instances run beside the attacker's; AWS Health reports the exposed key; the real health handler
responds. The report shows what was found, what was done per region, what was left alone and why.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "lambdas")]
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from emulator import EmulatedAws, LambdaContext  # noqa: E402
from emulator.scenarios import ALLOWED, ATTACKER_REGIONS, LEAKED_KEY, spot_swarm  # noqa: E402

REGIONS = ("us-east-1", *ATTACKER_REGIONS)


def main() -> int:
    console = Console(width=120)
    console.rule("[bold]Compromise responder - incident replay: leaked key, spot swarm in every region")
    with EmulatedAws(regions=REGIONS, env={"ALLOWED_REGIONS": ALLOWED}) as aws:
        scene = spot_swarm(aws, requests_per_region=4)
        attacker_total = sum(len(v) for v in scene.attacker_instances.values())
        console.print(
            f"The team runs {sum(len(v) for v in scene.legitimate.values())} instances in us-east-1/eu-west-1 "
            f"(ALLOWED_REGIONS={ALLOWED}).\n"
            f"Key {LEAKED_KEY} of IAM user ci-deployer leaked on GitHub. With it the attacker opened "
            f"{sum(len(v) for v in scene.attacker_requests.values())} persistent g2.8xlarge spot requests in "
            f"{len(scene.attacker_requests)} regions and 2 termination-protected p3.16xlarge in ap-south-1: "
            f"{attacker_total} instances running.\n"
            "AWS Health now sends AWS_RISK_CREDENTIALS_EXPOSED for the key. The health handler responds:\n"
        )
        from handlers import health

        aws.recorder.reset()
        started = time.perf_counter()
        report = health.handler(scene.health_event(), LambdaContext())
        seconds = time.perf_counter() - started
        calls = aws.recorder.by_region()
        show(console, report, calls, seconds, scene)
        return verify(console, aws, scene)


def show(console: Console, report: dict, calls: Counter, seconds: float, scene) -> None:
    console.print(f"[bold]{report['headline']}[/bold]  ({seconds:.2f} s, {sum(calls.values())} AWS calls)\n")
    iam = Table(title="Identity (global)", show_lines=False)
    for column in ("action", "target", "status", "why"):
        iam.add_column(column)
    for a in report["actions"]:
        if a["region"] == "global":
            iam.add_row(a["action"], a["target"], a["status"], a["reason"])
    console.print(iam)

    regions = Table(title="Per region (swept in parallel)")
    for column in ("region", "status", "attribution", "spot requests cancelled", "instances terminated",
                   "left alone", "AWS calls"):  # fmt: skip
        regions.add_column(column, justify="right" if column not in ("region", "status", "attribution") else "left")
    for region, status in report["regions"].items():
        acts = [a for a in report["actions"] if a["region"] == region]
        count = Counter((a["action"], a["status"]) for a in acts)
        style = {"contained": "green", "clean": "dim", "failed": "red"}[status]
        regions.add_row(
            region,
            f"[{style}]{status}[/{style}]",
            report["attribution"].get(region, "-"),
            str(count[("cancel-spot-request", "done")]),
            str(count[("terminate-instance", "done")]),
            str(sum(1 for a in acts if a["status"] == "skipped")),
            str(calls.get(region, 0)),
        )
    console.print(regions)

    left = Table(title="Left alone, and why")
    for column in ("instance", "region", "what it is", "why it was left alone"):
        left.add_column(column)
    for a in report["actions"]:
        if a["status"] == "skipped" and a["action"] == "terminate-instance":
            left.add_row(a["target"], a["region"], scene.labels.get(a["target"], "?"), a["reason"])
    console.print(left)
    console.print(f"Estimated on-demand cost stopped: [bold]${report['estimatedHourlyCostStopped']:,.2f}/hour[/bold] "
                  f"(about ${report['estimatedHourlyCostStopped'] * 24:,.0f}/day)\n")  # fmt: skip


def verify(console: Console, aws: EmulatedAws, scene) -> int:
    states: dict[str, str] = {}
    for region in aws.regions:
        states.update(aws.instance_states(region))
    attacker = [i for ids in scene.attacker_instances.values() for i in ids]
    legit = [i for ids in scene.legitimate.values() for i in ids]
    open_requests = [
        r for region, ids in scene.attacker_requests.items() for r in ids if r in aws.spot_request_states(region)
    ]
    notes = aws.notifications()
    checks = [
        ("access key Inactive (not deleted)", aws.key_status("ci-deployer") == {LEAKED_KEY: "Inactive"}),
        ("deny-all quarantine policy on ci-deployer", "compromise-responder-quarantine" in aws.user_policies("ci-deployer")),
        (f"attacker instances terminated: {sum(states[i] == 'terminated' for i in attacker)}/{len(attacker)}",
         all(states[i] == "terminated" for i in attacker)),
        (f"attacker spot requests still open: {len(open_requests)}", not open_requests),
        (f"team instances still running: {sum(states[i] == 'running' for i in legit)}/{len(legit)}",
         all(states[i] == "running" for i in legit)),
        (f"notifications on the team topic: {len(notes)}", len(notes) == 1),
    ]  # fmt: skip
    for text, ok in checks:
        console.print(("[green]PASS[/green] " if ok else "[red]FAIL[/red] ") + text)
    if notes:
        console.rule("The notification the team received (human part; the JSON report follows it)")
        console.print(f"Subject: {notes[0].subject}\n", markup=False)
        console.print(notes[0].summary.rstrip(), markup=False, highlight=False)
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
