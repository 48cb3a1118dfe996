"""Capacity beyond EC2, created by an actor as AWS records it: each call goes to moto and into the emulated
CloudTrail (so the launch watcher and LookupEvents see who created what).

moto gaps filled here (moto 5.2.5): ``CreateService`` starts no task, so the scheduler's tasks are started with
``RunTask`` in the service's group (``service:NAME``, started by ``ecs-svc/...``) and are not recorded as the
actor's calls (the scheduler starts them, as in AWS). ``DescribeTasks`` omits the task-level ``cpu``/``memory``
and ``createdAt``, ``DescribeServices`` omits ``createdAt``: ``EcsGaps`` adds them as AWS returns them (from the
task definition, and the time the scenario created the resource).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .actor import Actor

LAMBDA_ROLE = "lambda-exec"


class EcsGaps:
    """An observer of accepted calls: completes moto's ``DescribeTasks``/``DescribeServices`` answers in place."""

    def __init__(self) -> None:
        self.created: dict[str, datetime] = {}  # task or service ARN -> when the scenario created it

    def accepted(self, call: Any, parsed: dict[str, Any]) -> None:
        if call.service != "ecs" or call.operation not in ("DescribeTasks", "DescribeServices"):
            return
        from moto.ecs.models import ecs_backends

        backend = ecs_backends[call.account][call.region]
        for task in parsed.get("tasks", []):
            definition = backend.describe_task_definition(task["taskDefinitionArn"])
            task.setdefault("cpu", str(definition.cpu or ""))
            task.setdefault("memory", str(definition.memory or ""))
            task.setdefault("createdAt", self.created.get(task["taskArn"], datetime.now(UTC)))
        for service in parsed.get("services", []):
            service.setdefault("createdAt", self.created.get(service["serviceArn"], datetime.now(UTC)))


class UnofferedRegions:
    """moto has no backend for some services in the newest regions (``KeyError``); AWS does not offer every
    service everywhere either, and a client there fails to connect: answered as AWS's SDK fails."""

    SERVICES = frozenset({"ecs", "lambda", "sagemaker", "batch", "eks", "codebuild", "glue"})

    def __call__(self, call: Any) -> Any:
        if call.service not in self.SERVICES:
            return None
        from botocore.exceptions import EndpointConnectionError
        from moto.backends import get_backend

        try:
            get_backend(call.service)[call.account][call.region]  # type: ignore[call-overload]
        except KeyError:
            raise EndpointConnectionError(endpoint_url=f"https://{call.service}.{call.region}.amazonaws.com") from None
        return None


class Lightsail:
    """moto has no Lightsail: this plugin answers ``GetInstances`` and ``StopInstance`` from its own instances
    (created by ``create_lightsail_instances``), as AWS does (``NotFoundException`` for an unknown name)."""

    def __init__(self) -> None:
        self.instances: dict[tuple[str, str], dict[str, Any]] = {}  # (region, name) -> the instance AWS describes

    def __call__(self, call: Any) -> Any:
        from .hooks import error, reply

        if call.action == "lightsail:GetInstances":
            found = [dict(i) for (region, _name), i in self.instances.items() if region == call.region]
            return reply(200, {"instances": found})
        if call.action == "lightsail:StopInstance":
            instance = self.instances.get((call.region, str(call.params.get("instanceName"))))
            if instance is None:
                return error("NotFoundException", f"The Instance does not exist: {call.params.get('instanceName')}")
            instance["state"] = {"code": 80, "name": "stopped"}
            return reply(200, {"operations": [{"resourceName": instance["name"], "operationType": "StopInstance",
                                               "status": "Succeeded"}]})  # fmt: skip
        return None

    def arn(self, region: str, name: str) -> str:
        found = self.instances.get((region, name))
        return str(found["arn"]) if found else f"arn:aws:lightsail:{region}:123456789012:Instance/unknown"


class RunningBuilds:
    """moto reports every build ``SUCCEEDED`` as soon as ``BatchGetBuilds`` describes it: this observer keeps a
    build ``IN_PROGRESS`` until ``StopBuild`` (then ``STOPPED``), as a long build (a miner) is in AWS."""

    def __init__(self) -> None:
        self.stopped: set[str] = set()

    def accepted(self, call: Any, parsed: dict[str, Any]) -> None:
        if call.action == "codebuild:StopBuild":
            self.stopped.add(str(call.params.get("id")))
        elif call.action == "codebuild:BatchGetBuilds":
            for build in parsed.get("builds", []):
                build["buildStatus"] = "STOPPED" if build["id"] in self.stopped else "IN_PROGRESS"


class GlueRuns:
    """moto has no ``BatchStopJobRun`` and moves a run to ``SUCCEEDED`` as it is read: this plugin answers the stop
    and keeps a run ``RUNNING`` until it was stopped (then ``STOPPED``), as a long job (a miner) is in AWS."""

    def __init__(self) -> None:
        self.stopped: set[str] = set()

    def __call__(self, call: Any) -> Any:
        from .hooks import reply

        if call.action != "glue:BatchStopJobRun":
            return None
        ids = [str(i) for i in call.params.get("JobRunIds", [])]
        self.stopped.update(ids)
        job = call.params.get("JobName")
        return reply(200, {"SuccessfulSubmissions": [{"JobName": job, "JobRunId": i} for i in ids], "Errors": []})

    def accepted(self, call: Any, parsed: dict[str, Any]) -> None:
        if call.action == "glue:GetJobRuns":
            for run in parsed.get("JobRuns", []):
                run["JobRunState"] = "STOPPED" if run["Id"] in self.stopped else "RUNNING"


def _created(actor: Actor, arns: list[str], at: datetime | None) -> None:
    for arn in arns:
        actor.aws.ecs_gaps.created[arn] = at or datetime.now(UTC)


@dataclass
class Service:
    region: str
    cluster: str
    arn: str
    name: str
    tasks: list[str] = field(default_factory=list)
    event: dict[str, Any] = field(default_factory=dict)


@dataclass
class Function:
    region: str
    arn: str
    name: str
    mappings: list[str] = field(default_factory=list)
    event: dict[str, Any] = field(default_factory=dict)


def _cluster(actor: Actor, region: str, cluster: str) -> str:
    ecs = actor.aws.client("ecs", region)
    arn = str(ecs.create_cluster(clusterName=cluster)["cluster"]["clusterArn"])
    ecs.register_task_definition(
        family="worker",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="4096",
        memory="8192",
        containerDefinitions=[{"name": "worker", "image": "public.ecr.aws/docker/library/busybox", "memory": 8192}],
    )
    return arn


def _network(actor: Actor, region: str) -> dict[str, Any]:
    ec2 = actor.aws.client("ec2", region)
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    group = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]["GroupId"]
    return {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group], "assignPublicIp": "ENABLED"}}


def create_service(
    actor: Actor,
    region: str,
    name: str,
    tasks: int,
    *,
    cluster: str = "default",
    tags: dict[str, str] | None = None,
    at: datetime | None = None,
) -> Service:
    """``CreateService`` of a Fargate service, then its ``tasks`` started by the scheduler."""
    from . import clock

    cluster_arn = _cluster(actor, region, cluster)
    ecs = actor.aws.client("ecs", region)
    network = _network(actor, region)
    with clock(at):
        svc = ecs.create_service(
            cluster=cluster,
            serviceName=name,
            taskDefinition="worker",
            desiredCount=tasks,
            launchType="FARGATE",
            networkConfiguration=network,
            tags=[{"key": k, "value": v} for k, v in (tags or {}).items()],
        )["service"]
        started = ecs.run_task(
            cluster=cluster,
            taskDefinition="worker",
            count=tasks,
            launchType="FARGATE",
            group=f"service:{name}",
            startedBy="ecs-svc/1234567890123456789",
            networkConfiguration=network,
        )["tasks"]
    response = {
        "service": {
            "serviceArn": svc["serviceArn"],
            "serviceName": name,
            "clusterArn": cluster_arn,
            "desiredCount": tasks,
            "launchType": "FARGATE",
            "status": "ACTIVE",
        }
    }
    request = {
        "cluster": cluster,
        "serviceName": name,
        "taskDefinition": "worker",
        "desiredCount": tasks,
        "launchType": "FARGATE",
    }
    event = actor._record("CreateService", "ecs.amazonaws.com", region, request, response, at)
    _created(actor, [str(svc["serviceArn"]), *(str(t["taskArn"]) for t in started)], at)
    return Service(region, cluster_arn, str(svc["serviceArn"]), name, [str(t["taskArn"]) for t in started], event)


def run_task(actor: Actor, region: str, count: int, *, cluster: str = "default", at: datetime | None = None) -> Service:
    """``RunTask``: standalone Fargate tasks (no service)."""
    from . import clock

    cluster_arn = _cluster(actor, region, cluster)
    ecs = actor.aws.client("ecs", region)
    with clock(at):
        started = ecs.run_task(
            cluster=cluster,
            taskDefinition="worker",
            count=count,
            launchType="FARGATE",
            networkConfiguration=_network(actor, region),
        )["tasks"]
    arns = [str(t["taskArn"]) for t in started]
    _created(actor, arns, at)
    response = {
        "tasks": [{"taskArn": a, "clusterArn": cluster_arn, "lastStatus": "PROVISIONING"} for a in arns],
        "failures": [],
    }
    request = {"cluster": cluster, "taskDefinition": "worker", "count": count, "launchType": "FARGATE"}
    event = actor._record("RunTask", "ecs.amazonaws.com", region, request, response, at)
    return Service(region, cluster_arn, "", "", arns, event)


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return 'ok'\n")
    return buffer.getvalue()


def _role(actor: Actor) -> str:
    iam = actor.aws.client("iam")
    try:
        return str(iam.get_role(RoleName=LAMBDA_ROLE)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        trust = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
        return str(iam.create_role(RoleName=LAMBDA_ROLE, AssumeRolePolicyDocument=trust)["Role"]["Arn"])


def create_function(
    actor: Actor,
    region: str,
    name: str,
    *,
    memory: int = 3008,
    queue: bool = False,
    tags: dict[str, str] | None = None,
    at: datetime | None = None,
) -> Function:
    """``CreateFunction`` (CloudTrail: ``CreateFunction20150331``), optionally fed by an SQS event source mapping."""
    from . import clock

    client = actor.aws.client("lambda", region)
    with clock(at):
        created = client.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=_role(actor),
            Handler="index.handler",
            Code={"ZipFile": _zip()},
            MemorySize=memory,
            Timeout=900,
            Tags=tags or {},
        )
    mappings = []
    if queue:
        sqs = actor.aws.client("sqs", region)
        url = sqs.create_queue(QueueName=f"{name}-jobs")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        mappings.append(str(client.create_event_source_mapping(EventSourceArn=arn, FunctionName=name)["UUID"]))
    response = {
        "functionName": name,
        "functionArn": created["FunctionArn"],
        "runtime": "python3.12",
        "memorySize": memory,
        "lastModified": (at or datetime.now(UTC)).isoformat(),
    }
    request = {"functionName": name, "runtime": "python3.12", "memorySize": memory, "handler": "index.handler"}
    event = actor._record("CreateFunction20150331", "lambda.amazonaws.com", region, request, response, at)
    return Function(region, str(created["FunctionArn"]), name, mappings, event)


def start_instances(
    actor: Actor, region: str, instance_ids: list[str], *, at: datetime | None = None
) -> dict[str, Any]:
    """``StartInstances`` of stopped instances (someone else's): the event CloudTrail records for it."""
    actor.aws.client("ec2", region).start_instances(InstanceIds=instance_ids)
    request = {"instancesSet": {"items": [{"instanceId": i} for i in instance_ids]}}
    response = {
        "instancesSet": {
            "items": [
                {
                    "instanceId": i,
                    "currentState": {"code": 0, "name": "pending"},
                    "previousState": {"code": 80, "name": "stopped"},
                }
                for i in instance_ids
            ]
        }
    }
    return actor._record("StartInstances", "ec2.amazonaws.com", region, request, response, at)


def create_notebook(
    actor: Actor, region: str, name: str, instance_type: str = "ml.p3.2xlarge", *, at: datetime | None = None
) -> tuple[str, dict[str, Any]]:
    """``CreateNotebookInstance`` (moto's notebook is ``InService`` at once)."""
    from . import clock

    client = actor.aws.client("sagemaker", region)
    with clock(at):
        arn = str(client.create_notebook_instance(NotebookInstanceName=name, InstanceType=instance_type,
                                                  RoleArn=_role(actor))["NotebookInstanceArn"])  # fmt: skip
    request = {"notebookInstanceName": name, "instanceType": instance_type}
    return arn, actor._record("CreateNotebookInstance", "sagemaker.amazonaws.com", region, request,
                              {"notebookInstanceArn": arn}, at)  # fmt: skip


def create_endpoint(
    actor: Actor, region: str, name: str, instance_type: str = "ml.p3.2xlarge", *, at: datetime | None = None
) -> tuple[str, dict[str, Any]]:
    """A model, an endpoint configuration and ``CreateEndpoint`` (only the last is what bills by the hour)."""
    from . import clock

    client = actor.aws.client("sagemaker", region)
    client.create_model(ModelName=f"{name}-model", ExecutionRoleArn=_role(actor),
                        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/model:latest"})  # fmt: skip
    client.create_endpoint_config(EndpointConfigName=f"{name}-config", ProductionVariants=[
        {"VariantName": "main", "ModelName": f"{name}-model", "InstanceType": instance_type,
         "InitialInstanceCount": 2}])  # fmt: skip
    with clock(at):
        arn = str(client.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")["EndpointArn"])
    request = {"endpointName": name, "endpointConfigName": f"{name}-config"}
    return arn, actor._record("CreateEndpoint", "sagemaker.amazonaws.com", region, request, {"endpointArn": arn}, at)


PURCHASES = {  # CloudTrail records of purchases (no emulated API: moto has no Savings Plans, no RI purchase)
    "reserved-instances": ("PurchaseReservedInstancesOffering", "ec2.amazonaws.com",
                           {"reservedInstancesOfferingId": "248e7b75-c83a-48c1-bcf7-b7f03e9c43fe", "instanceCount": 20},
                           {"reservedInstancesId": "af9f760e-6f91-4559-85f7-4980eexample"}),
    "savings-plan": ("CreateSavingsPlan", "savingsplans.amazonaws.com",
                     {"savingsPlanOfferingId": "0ee1e7c6-2a8e-4d5b-9a43-3c5bexample", "commitment": "250.0"},
                     {"savingsPlanId": "sp-0123456789abcdef0"}),
    "bedrock-agreement": ("CreateFoundationModelAgreement", "bedrock.amazonaws.com",
                          {"modelId": "anthropic.claude-3-opus-20240229-v1:0", "offerToken": "example"},
                          {"modelId": "anthropic.claude-3-opus-20240229-v1:0"}),
}  # fmt: skip


def purchase(actor: Actor, what: str, region: str = "us-east-1", *, at: datetime | None = None) -> dict[str, Any]:
    """The CloudTrail record of a purchase the responder can only report (see ``PURCHASES``)."""
    name, source, request, response = PURCHASES[what]
    return actor._record(name, source, region, request, response, at)


def create_nodegroup(
    actor: Actor, region: str, cluster: str, name: str, instance_type: str = "g5.xlarge", size: int = 4,
    *, at: datetime | None = None,
) -> tuple[str, dict[str, Any]]:  # fmt: skip
    """An EKS cluster (if new) and ``CreateNodegroup`` of ``size`` nodes."""
    from . import clock

    eks = actor.aws.client("eks", region)
    subnet = actor.aws.client("ec2", region).describe_subnets()["Subnets"][0]["SubnetId"]
    if cluster not in eks.list_clusters()["clusters"]:
        eks.create_cluster(name=cluster, roleArn=_role(actor), resourcesVpcConfig={"subnetIds": [subnet]})
    with clock(at):
        group = eks.create_nodegroup(
            clusterName=cluster, nodegroupName=name, nodeRole=_role(actor), subnets=[subnet],
            instanceTypes=[instance_type], scalingConfig={"minSize": size, "maxSize": size, "desiredSize": size},
        )["nodegroup"]  # fmt: skip
    arn = str(group["nodegroupArn"])
    request = {"clusterName": cluster, "nodegroupName": name, "instanceTypes": [instance_type]}
    response = {"nodegroup": {"nodegroupArn": arn, "nodegroupName": name, "clusterName": cluster, "status": "CREATING"}}
    return arn, actor._record("CreateNodegroup", "eks.amazonaws.com", region, request, response, at)


def create_compute_environment(
    actor: Actor, region: str, name: str, *, at: datetime | None = None
) -> tuple[str, dict[str, Any]]:
    """``CreateComputeEnvironment`` of a managed Fargate environment (moto ignores later ``computeResources``)."""
    batch = actor.aws.client("batch", region)
    network = _network(actor, region)["awsvpcConfiguration"]
    arn = str(batch.create_compute_environment(
        computeEnvironmentName=name, type="MANAGED", state="ENABLED", serviceRole=_role(actor),
        computeResources={"type": "FARGATE", "maxvCpus": 256, "subnets": network["subnets"],
                          "securityGroupIds": network["securityGroups"]},
    )["computeEnvironmentArn"])  # fmt: skip
    request = {
        "computeEnvironmentName": name,
        "type": "MANAGED",
        "computeResources": {"type": "FARGATE", "maxvCpus": 256},
    }
    response = {"computeEnvironmentName": name, "computeEnvironmentArn": arn}
    return arn, actor._record("CreateComputeEnvironment", "batch.amazonaws.com", region, request, response, at)


def create_lightsail_instances(
    actor: Actor, region: str, names: list[str], bundle: str = "xlarge_3_0", *, tags: dict[str, str] | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:  # fmt: skip
    """``CreateInstances`` in Lightsail (emulated: moto has none), running at once."""
    import uuid

    for name in names:
        actor.aws.lightsail.instances[(region, name)] = {
            "name": name,
            "arn": f"arn:aws:lightsail:{region}:{actor.aws.account}:Instance/{uuid.uuid4()}",
            "bundleId": bundle,
            "blueprintId": "ubuntu_22_04",
            "createdAt": at or datetime.now(UTC),
            "state": {"code": 16, "name": "running"},
            "tags": [{"key": k, "value": v} for k, v in (tags or {}).items()],
        }
    request = {
        "instanceNames": names,
        "availabilityZone": f"{region}a",
        "blueprintId": "ubuntu_22_04",
        "bundleId": bundle,
    }
    response = {"operations": [{"resourceName": n, "resourceType": "Instance", "operationType": "CreateInstance",
                                "status": "Started"} for n in names]}  # fmt: skip
    return actor._record("CreateInstances", "lightsail.amazonaws.com", region, request, response, at)


def start_build(
    actor: Actor, region: str, project: str, *, gpu: bool = True, at: datetime | None = None
) -> tuple[str, dict[str, Any]]:
    """A CodeBuild project (if new) and ``StartBuild`` (kept ``IN_PROGRESS`` by ``RunningBuilds``)."""
    client = actor.aws.client("codebuild", region)
    if project not in client.list_projects()["projects"]:
        client.create_project(
            name=project, source={"type": "S3", "location": "build-inputs/source.zip"}, artifacts={"type": "NO_ARTIFACTS"},
            environment={"type": "LINUX_GPU_CONTAINER" if gpu else "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                         "computeType": "BUILD_GENERAL1_LARGE"},
            serviceRole=_role(actor),
        )  # fmt: skip
    build = client.start_build(projectName=project)["build"]
    response = {"build": {"id": build["id"], "arn": build["arn"], "projectName": project, "buildStatus": "IN_PROGRESS"}}
    return str(build["id"]), actor._record(
        "StartBuild", "codebuild.amazonaws.com", region, {"projectName": project}, response, at
    )


def start_job_run(actor: Actor, region: str, job: str, *, at: datetime | None = None) -> tuple[str, dict[str, Any]]:
    """A Glue job (if new) and ``StartJobRun`` (kept ``RUNNING`` by ``GlueRuns``)."""
    glue = actor.aws.client("glue", region)
    if job not in glue.list_jobs()["JobNames"]:
        glue.create_job(Name=job, Role=_role(actor), Command={"Name": "glueetl", "ScriptLocation": "s3://scripts/job.py"},
                        WorkerType="G.2X", NumberOfWorkers=10)  # fmt: skip
    run = str(glue.start_job_run(JobName=job)["JobRunId"])
    return run, actor._record("StartJobRun", "glue.amazonaws.com", region, {"jobName": job}, {"jobRunId": run}, at)


class SageMakerJobs:
    """moto creates a training job already ``Completed``, and has no ``StopTrainingJob`` (nor the processing and
    transform stops): this plugin keeps its own jobs ``InProgress`` (a long job, a miner, as in AWS) and answers
    ``Create``/``Describe``/``List``/``Stop`` of the three job APIs, and ``ListTags`` of their ARNs. ``Stop``
    moves a job to ``Stopping``; stopping a job that is not in progress is AWS's ``ValidationException``."""

    KINDS = {"Training": "ResourceConfig", "Processing": "ProcessingResources", "Transform": "TransformResources"}

    def __init__(self) -> None:
        self.jobs: dict[tuple[str, str, str], dict[str, Any]] = {}  # (region, Training, name) -> the job described

    def __call__(self, call: Any) -> Any:
        from .hooks import error, reply

        if call.service != "sagemaker":
            return None
        op = call.operation
        if op == "ListTags":
            found = next((j for j in self.jobs.values() if j["arn"] == call.params.get("ResourceArn")), None)
            return reply(200, {"Tags": found["tags"]}) if found else None
        for what in self.KINDS:
            if op == f"List{what}Jobs":
                status = call.params.get("StatusEquals")
                summaries = [
                    {f"{what}JobName": j[f"{what}JobName"], f"{what}JobArn": j["arn"], "CreationTime": j["CreationTime"],
                     f"{what}JobStatus": j[f"{what}JobStatus"]}
                    for (region, kind, _n), j in self.jobs.items()
                    if region == call.region and kind == what and (not status or j[f"{what}JobStatus"] == status)
                ]  # fmt: skip
                return reply(200, {f"{what}JobSummaries": summaries})
            if op in (f"Create{what}Job", f"Describe{what}Job", f"Stop{what}Job"):
                name = str(call.params.get(f"{what}JobName"))
                key = (call.region, what, name)
                if op.startswith("Create"):
                    return reply(200, {f"{what}JobArn": self._create(call, what, name)})
                job = self.jobs.get(key)
                if job is None:
                    return error("ValidationException", f"Requested resource not found: {name}")
                if op.startswith("Describe"):
                    return reply(200, {k: v for k, v in job.items() if k not in ("arn", "tags")}
                                 | {f"{what}JobArn": job["arn"]})  # fmt: skip
                if job[f"{what}JobStatus"] != "InProgress":
                    return error("ValidationException", f"The job {name} is not in progress")
                job[f"{what}JobStatus"] = "Stopping"
                return reply(200, {})
        return None

    def _create(self, call: Any, what: str, name: str) -> str:
        resource = what.lower() + "-job"
        arn = f"arn:aws:sagemaker:{call.region}:{call.account}:{resource}/{name.lower()}"
        self.jobs[(call.region, what, name)] = {
            f"{what}JobName": name,
            f"{what}JobStatus": "InProgress",
            "CreationTime": datetime.now(UTC),
            self.KINDS[what]: call.params.get(self.KINDS[what], {}),
            "arn": arn,
            "tags": list(call.params.get("Tags", [])),
        }
        return arn


def create_sagemaker_job(
    actor: Actor, region: str, what: str, name: str, instance_type: str = "ml.p3.2xlarge", count: int = 2,
    *, tags: dict[str, str] | None = None, at: datetime | None = None,
) -> tuple[str, dict[str, Any]]:  # fmt: skip
    """``CreateTrainingJob`` / ``CreateProcessingJob`` / ``CreateTransformJob`` (``what``: Training ...) on ``count``
    instances, kept ``InProgress`` by ``SageMakerJobs``."""
    from . import clock

    client = actor.aws.client("sagemaker", region)
    tag_list = [{"Key": k, "Value": v} for k, v in (tags or {}).items()]
    params: dict[str, Any] = {
        "Training": {"TrainingJobName": name, "RoleArn": _role(actor), "AlgorithmSpecification": {
            "TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/train:latest", "TrainingInputMode": "File"},
            "OutputDataConfig": {"S3OutputPath": "s3://models/out"}, "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
            "ResourceConfig": {"InstanceType": instance_type, "InstanceCount": count, "VolumeSizeInGB": 50}},
        "Processing": {"ProcessingJobName": name, "RoleArn": _role(actor), "AppSpecification": {
            "ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/process:latest"},
            "ProcessingResources": {"ClusterConfig": {"InstanceType": instance_type, "InstanceCount": count,
                                                      "VolumeSizeInGB": 50}}},
        "Transform": {"TransformJobName": name, "ModelName": f"{name}-model", "TransformInput": {"DataSource": {
            "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://inputs/batch"}}},
            "TransformOutput": {"S3OutputPath": "s3://outputs/batch"},
            "TransformResources": {"InstanceType": instance_type, "InstanceCount": count}},
    }[what]  # fmt: skip
    with clock(at):
        arn = str(getattr(client, f"create_{what.lower()}_job")(**params, **({"Tags": tag_list} if tag_list else {}))[
            f"{what}JobArn"])  # fmt: skip
    request = {f"{what[0].lower()}{what[1:]}JobName": name}
    response = {f"{what[0].lower()}{what[1:]}JobArn": arn}
    return arn, actor._record(f"Create{what}Job", "sagemaker.amazonaws.com", region, request, response, at)


class BatchJobs:
    """moto runs a submitted Batch job in Docker (absent here: the job fails at once): this plugin keeps its own
    jobs ``RUNNING`` (a long job, a miner, as in AWS) and answers ``SubmitJob``, ``ListJobs``, ``DescribeJobs``
    and ``TerminateJob`` (the job ``FAILED`` with the given ``statusReason``, as AWS records it); queues, job
    definitions and compute environments stay moto's."""

    def __init__(self) -> None:
        self.jobs: dict[str, dict[str, Any]] = {}  # job id -> the job AWS describes

    @staticmethod
    def _queue(call: Any, queue: str) -> str:
        return queue if queue.startswith("arn:") else f"arn:aws:batch:{call.region}:{call.account}:job-queue/{queue}"

    def __call__(self, call: Any) -> Any:
        import uuid

        from .hooks import error, reply

        if call.service != "batch":
            return None
        if call.operation == "SubmitJob":
            job_id = str(uuid.uuid4())
            arn = f"arn:aws:batch:{call.region}:{call.account}:job/{job_id}"
            self.jobs[job_id] = {
                "jobId": job_id, "jobArn": arn, "jobName": call.params["jobName"], "region": call.region,
                "jobQueue": self._queue(call, str(call.params["jobQueue"])), "jobDefinition": call.params["jobDefinition"],
                "status": "RUNNING", "createdAt": int(datetime.now(UTC).timestamp() * 1000),
            }  # fmt: skip
            return reply(200, {"jobArn": arn, "jobName": call.params["jobName"], "jobId": job_id})
        if call.operation == "ListJobs":
            queue, status = self._queue(call, str(call.params.get("jobQueue"))), call.params.get("jobStatus", "RUNNING")
            found = [{k: j[k] for k in ("jobArn", "jobId", "jobName", "createdAt", "status")} for j in self.jobs.values()
                     if j["region"] == call.region and j["jobQueue"] == queue and j["status"] == status]  # fmt: skip
            return reply(200, {"jobSummaryList": found})
        if call.operation == "DescribeJobs":
            wanted = [str(i) for i in call.params.get("jobs", [])]
            found = [{k: v for k, v in self.jobs[i].items() if k != "region"} for i in wanted if i in self.jobs]
            return reply(200, {"jobs": found})
        if call.operation == "TerminateJob":
            job = self.jobs.get(str(call.params.get("jobId")))
            if job is None:
                return None  # moto: an unknown job is no error either
            if not call.params.get("reason"):
                return error("ClientException", "'reason' is a required field (cannot be a empty string)")
            job.update(status="FAILED", statusReason=call.params["reason"])
            return reply(200, {})
        return None


def submit_batch_job(
    actor: Actor, region: str, queue: str, name: str, *, environment: str, at: datetime | None = None
) -> tuple[str, dict[str, Any]]:
    """A job queue on ``environment`` and a job definition (if new) and ``SubmitJob`` (kept ``RUNNING`` by
    ``BatchJobs``)."""
    batch = actor.aws.client("batch", region)
    if not batch.describe_job_queues(jobQueues=[queue])["jobQueues"]:
        batch.create_job_queue(jobQueueName=queue, state="ENABLED", priority=1,
                               computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment}])  # fmt: skip
    if not batch.describe_job_definitions(jobDefinitionName="worker")["jobDefinitions"]:
        batch.register_job_definition(jobDefinitionName="worker", type="container", platformCapabilities=["FARGATE"],
                                      containerProperties={"image": "public.ecr.aws/docker/library/busybox",
                                                           "resourceRequirements": [{"type": "VCPU", "value": "4"},
                                                                                    {"type": "MEMORY", "value": "8192"}],
                                                           "executionRoleArn": _role(actor)})  # fmt: skip
    job = batch.submit_job(jobName=name, jobQueue=queue, jobDefinition="worker")
    if at is not None:
        actor.aws.batch_jobs.jobs[job["jobId"]]["createdAt"] = int(at.timestamp() * 1000)
    request = {"jobName": name, "jobQueue": queue, "jobDefinition": "worker"}
    response = {"jobArn": job["jobArn"], "jobName": name, "jobId": job["jobId"]}
    return str(job["jobArn"]), actor._record("SubmitJob", "batch.amazonaws.com", region, request, response, at)
