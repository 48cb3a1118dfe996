"""``responder demo``: incident 1 (2014) replayed against emulated AWS, shown with the CLI's own renderer.

Keys leaked on GitHub; persistent g2.8xlarge spot requests in every region. The team's own instances run
beside the attacker's; AWS Health reports the exposed key; the real health handler responds. The demo then
checks the AWS state itself (key Inactive, attacker capacity gone, team capacity running, one notification).
"""

from __future__ import annotations

import os
import time

from rich.console import Console

from . import render

DEMO_ENV = {"POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true"}


def run_demo(console: Console) -> int:
    for key, value in DEMO_ENV.items():
        os.environ.setdefault(key, value)
    from handlers import health

    from compromise_responder.tools.emulator import EmulatedAws, LambdaContext
    from compromise_responder.tools.emulator.scenarios import ALLOWED, ATTACKER_REGIONS, LEAKED_KEY, spot_swarm

    console.rule("[bold]Compromise responder - incident replay: leaked key, spot swarm in every region")
    with EmulatedAws(regions=("us-east-1", *ATTACKER_REGIONS), env={"ALLOWED_REGIONS": ALLOWED}) as aws:
        scene = spot_swarm(aws, requests_per_region=4)
        attacker = [i for ids in scene.attacker_instances.values() for i in ids]
        legit = [i for ids in scene.legitimate.values() for i in ids]
        console.print(
            f"The team runs {len(legit)} instances in us-east-1/eu-west-1 (ALLOWED_REGIONS={ALLOWED}).\n"
            f"Key {LEAKED_KEY} of IAM user ci-deployer leaked on GitHub. With it the attacker opened "
            f"{sum(len(v) for v in scene.attacker_requests.values())} persistent g2.8xlarge spot requests in "
            f"{len(scene.attacker_requests)} regions and 2 termination-protected p3.16xlarge in ap-south-1: "
            f"{len(attacker)} instances running.\n"
            "AWS Health now sends AWS_RISK_CREDENTIALS_EXPOSED for the key. The health handler responds:\n",
            markup=False,
        )
        aws.recorder.reset()
        started = time.perf_counter()
        report = health.handler(scene.health_event(), LambdaContext())
        seconds = time.perf_counter() - started
        render.report(console, report)
        console.print(f"\n{seconds:.2f} s, {aws.recorder.total()} AWS calls\n", markup=False)

        states = {i: s for region in aws.regions for i, s in aws.instance_states(region).items()}
        still_open = [
            r for region, ids in scene.attacker_requests.items() for r in ids if r in aws.spot_request_states(region)
        ]
        notes = aws.notifications()
        checks = [
            ("access key Inactive (not deleted)", aws.key_status("ci-deployer") == {LEAKED_KEY: "Inactive"}),
            ("deny-all quarantine policy on ci-deployer", "compromise-responder-quarantine" in aws.user_policies("ci-deployer")),
            (f"attacker instances terminated: {sum(states[i] == 'terminated' for i in attacker)}/{len(attacker)}",
             all(states[i] == "terminated" for i in attacker)),
            (f"attacker spot requests still open: {len(still_open)}", not still_open),
            (f"team instances still running: {sum(states[i] == 'running' for i in legit)}/{len(legit)}",
             all(states[i] == "running" for i in legit)),
            (f"notifications on the team topic: {len(notes)}", len(notes) == 1),
        ]  # fmt: skip
        for text, ok in checks:
            console.print(("PASS " if ok else "FAIL ") + text, style="green" if ok else "bold red", markup=False)
        render.notifications(console, notes)
        return 0 if all(ok for _, ok in checks) else 1
