"""CDK constructs of the compromise responder, one per concern.

The stack reads the Lambda code's own declarations (permissions, table keys, event codes): the
``responder`` package is installed with the project (pyproject.toml), and ``lambdas/`` is the code asset.
"""

from pathlib import Path

LAMBDAS = Path(__file__).resolve().parent.parent / "lambdas"
