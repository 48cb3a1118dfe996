"""Compromise responder: contain an AWS credential compromise without destroying anything.

Layout (functional core, imperative shell):
  events      typed models of what AWS delivers (pure parsing)
  config      environment configuration, validated once per invocation
  model       the domain: principals, windows, evidence, planned steps, reports
  policy      RoguePolicy - the pure decision of what is rogue
  planner     evidence -> ordered list of steps (pure)
  actions     registry of the AWS changes the responder can make, each with its IAM permissions
  probes      registry of the AWS reads, each with its IAM permissions
  sweep       RegionSweep - every region in parallel, fault-isolated
  flows       the responses (contain an access key, sweep regions, ...) glued from the above
  notify      human summary + JSON report to SNS
  store       DynamoDB: incidents and the launch ledger
"""
