"""``responder``: the platform team's command line (plan, run, replay, events).

The CLI drives the same engine the Lambda functions run, so ``lambdas/`` is put on the import
path here, once (as ``infra/__init__.py`` does for the stack).
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAMBDAS = ROOT / "lambdas"
if str(LAMBDAS) not in sys.path:
    sys.path.insert(0, str(LAMBDAS))
