#!/usr/bin/env python3
"""CDK app: the compromise responder in the home region (`cdk deploy`), checked by cdk-nag."""

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks

from infra.config import load
from infra.responder_stack import ResponderStack

app = App()
config = load(app.node.get_all_context())
ResponderStack(
    app,
    "CompromiseResponder",
    config=config,
    env=Environment(account=config.account, region=config.home_region),
    description="Contains AWS credential compromises: deactivate keys, stop rogue capacity, notify (no data deleted)",
)
Validations.of(app).add_plugins(AwsSolutionsChecks(app))
app.synth()
