"""CDK constructs of the compromise responder, one per concern.

The stack reads the Lambda code's own declarations (permissions, table schemas, event codes), so
``lambdas/`` is put on the import path here, once.
"""

import sys
from pathlib import Path

LAMBDAS = Path(__file__).resolve().parent.parent / "lambdas"
if str(LAMBDAS) not in sys.path:
    sys.path.insert(0, str(LAMBDAS))
