"""``responder``: the platform team's command line (plan, run, replay, events, demo).

The CLI drives the same engine the Lambda functions run (the ``responder`` package, installed with
the project).
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
