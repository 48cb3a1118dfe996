"""The imperative shell: what one response needs (context), which account it acts in, the
quarantine policy's ARN, the handler glue (entrypoint) and which permissions each handler's flows need (catalog).
Importing this package imports none of them: the CDK synth reads the catalog without the Lambda shell."""
