"""Compromise responder: contain an AWS credential compromise without destroying anything.

Layout (functional core, imperative shell: parsing, deciding and planning make no AWS call):

  parsing and settings (pure)
    events              typed models of what AWS delivers, the runbooks' field shapes; BadInput names the field
    cloudtrail_records  one reader of CloudTrail records (watcher events and LookupEvents alike)
    config              environment configuration, validated once per invocation
    partitions, arns    regions of a partition; ARN text, partition-aware
    own_names           the fixed names of the responder's own resources (the stack gives them, the code reads them)
    guard_calls         the calls that tamper with the responder, their targets, who may make them
    timeutil, pricing   UTC time parsing; on-demand $/hour of instance types
  the decision (pure)
    model               principals, windows, evidence, planned steps, outcomes
    rogue               RoguePolicy: what is rogue, and why
    planner             evidence -> ordered steps
    backdoors           what a contained principal created to come back, and what to do with it
    chain               the credential chain: what the key became (links from CloudTrail and the ledger), the cuts
    left_behind         what the chain left behind: the undo of each call, or a line for a human
  AWS calls (thin executors, each declaring its IAM permissions)
    capabilities        the declarations; catalog maps handlers -> flows -> capabilities
    actions/            the changes (iam, capacity, isolation, undo, restore, role_session, ecs_task) and the executor
    probes              the reads (describes, key owner, LookupEvents, Auto Scaling and target-group membership)
    attribution         who launched what, in one place: the ledger first, LookupEvents second; by key and by resource
    kinds/              capacity beyond EC2, one module per kind (ECS, Lambda, SageMaker, Batch, EKS, Lightsail,
                        CodeBuild, Glue, started instances, purchases): create calls, probe, stop actions, price
    activity            what a key did: LookupEvents in every region, paced, budgeted, counted (Tally is pure)
    sweep               RegionSweep: every region in parallel, fault-isolated
    store, table_keys   DynamoDB: launch ledger, incidents (every attempt, close, release); the tables' keys
    account_parts       an organization sweep's account: its lease (never swept twice at once), its part
    attempts            earlier attempts of an incident: a retry keeps what they did
    joining             one incident per credential: open or join (conditional writes), the page budget
    guard_state         the responder's own trail, detector, rules, functions, topic: read, and what to restore
    notify              the one SNS call (per protocol: e-mail text + JSON, chat custom notification)
    securityhub         the incident as a Security Hub finding (SECURITY_HUB_FINDINGS)
  responses
    context             what one response needs: settings, clients, stores, the journal
    flows/              keys, activity, roles, instances, tasks, launch_watch (swarm, left_running), notices,
                        lifecycle, organization, chain, holding, console, tamper (a tampering incident),
                        heartbeat (every 5 minutes):
                        each returns a Report
    findings/           the GuardDuty finding families, one module each (types, target, response, flows), their
                        registry, the dispatcher (the gate, then the first matching family); where each family names
                        its target (models), GuardDuty's severity bands, the finding types AWS documents
    runbooks/           the manual runbooks, one module each (model, runner, flows), their registry (parse, run)
    report/             the Report; its words (only what AWS confirmed), summary, chat message, NEEDS A HUMAN
    entrypoint          handler glue: parse -> respond once -> notify -> record every attempt -> raise
"""
