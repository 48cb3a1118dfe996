"""CDK constructs of the compromise responder, one per concern."""
