"""Compromise responder: contain an AWS credential compromise without destroying anything.

The layout is the pipeline: parse -> evidence -> decide -> execute -> report, with what outlives an invocation
in record/ and the imperative shell around it (functional core: parsing and deciding make no AWS call).

  core/        the shared vocabulary (pure): model (principals, windows, evidence, steps, outcomes), config
               (validated once), arns, partitions, timeutil, fit (sizes), capabilities (every AWS call declared
               with its IAM permissions), own_names and table_keys (what the stack creates, read by the code)
  parse/       1. what AWS delivers: events (one typed model per source, the runbooks' fields; BadInput names the
               field), cloudtrail_records (one reader of CloudTrail records), guard_calls (the tamper calls),
               notice_identity (one answer per Health notice)
  evidence/    2. the reads: probes (describes, key owner, LookupEvents, memberships), attribution (who launched
               what: the ledger, then LookupEvents), chain (what the key became, and the cuts' plan), backdoors
               (what a contained principal created to come back, and what to do with it), activity (what a key
               did, paced and budgeted), left_behind_tags, guard_state (the responder's own state)
  decide/      3. pure, and never reading: rogue (RoguePolicy), planner (evidence -> ordered steps), pricing,
               left_behind (the undo of what the chain left), bucket_lifecycle (a bucket's earlier lifecycle)
  actions/     4. execute: every change, each class with its permissions, phase, words and what it stops; the
               executor runs a plan (dry-run: plans only)
  aws          one boto3 client per account, service and region, with adaptive retries; AWS errors in words
  kinds/       capacity beyond EC2, one module per kind: create calls, probe, stop actions, price (a registry)
  sweep        RegionSweep: the pipeline for one region (describe, attribute, plan, execute), every region in
               parallel, fault-isolated; it may start before the chain's reading ends and waits for it to decide
  report/      5. the Report: only what AWS confirmed (wording), the summary, the chat message, NEEDS A HUMAN
  record/      store (launch ledger, incidents), attempts (a retry keeps what earlier ones did), joining (one
               incident per compromise, the page budget), account_parts (an organization sweep's accounts), notify
               (the one SNS call), securityhub (the ASFF finding), idempotency (its declaration)
  flows/       the responses, each a Flow listing the capabilities it uses and returning a Report: keys, chain,
               holding, activity, roles, instances, tasks, launch_watch (swarm, left_running), notices, lifecycle,
               organization, console, tamper, heartbeat
  findings/    the GuardDuty finding families, one module each, their registry and the dispatcher
  runbooks/    the manual runbooks, one module each (model, runner, flows), their registry
  shell/       context (what one response needs),
               accounts (which account a response acts in, and whether it may), quarantine (the managed policy's
               ARN), entrypoint (parse -> respond once -> notify -> record every attempt -> raise), catalog
               (handlers -> flows -> capabilities: each function's IAM policy)
"""
