#!/usr/bin/env python3
"""CDK app: the responder stack in the home region, a forwarder in every other region; cdk-nag checks all."""

import os
from pathlib import Path

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks

from compromise_responder.infra.config import check_local_context, load
from compromise_responder.infra.forwarder import forwarders
from compromise_responder.infra.preflight import check_account
from compromise_responder.infra.responder_stack import ResponderStack

check_local_context(Path(__file__).resolve().parent)
app = App()
# CDK_DEFAULT_ACCOUNT: the account of the credentials the CLI runs with (see infra.config.resolve_account)
config = load(app.node.get_all_context(), default_account=os.environ.get("CDK_DEFAULT_ACCOUNT"))
check_account(config)  # what a setting would break in the target account, when its credentials answer
ResponderStack(
    app,
    "CompromiseResponder",
    config=config,
    env=Environment(account=config.account, region=config.home_region),
    description="Contains AWS credential compromises: deactivate keys, stop rogue capacity, notify (no data deleted)",
)
forwarders(app, config)
Validations.of(app).add_plugins(AwsSolutionsChecks(app))
app.synth()
