"""Authorization requests of the calls the kinds beyond EC2 make (ECS, Lambda), per the Service Authorization
Reference: which resource ARN each call is authorized on (see ``authorization.requests_of``)."""

from __future__ import annotations

from collections.abc import Callable

from .authorization import Request, _any, _ec2_ids
from .hooks import Call


def _arn(call: Call, service: str, resource: str) -> str:
    return f"arn:aws:{service}:{call.region}:{call.account}:{resource}"


def _cluster(call: Call) -> str:
    return str(call.params.get("cluster") or "default").rsplit("/", 1)[-1]


def _ecs(kind: str, param: str) -> Callable[[Call], list[Request]]:
    def model(call: Call) -> list[Request]:
        value = call.params.get(param)
        names = value if isinstance(value, list) else [value]
        return [
            Request(
                call.action, str(n) if str(n).startswith("arn:") else _arn(call, "ecs", f"{kind}/{_cluster(call)}/{n}")
            )
            for n in names
        ]

    return model


def _function(call: Call) -> list[Request]:
    name = str(call.params.get("FunctionName") or call.params.get("Resource"))
    return [Request(call.action, name if name.startswith("arn:") else _arn(call, "lambda", f"function:{name}"))]


def _sagemaker(kind: str, param: str) -> Callable[[Call], list[Request]]:
    return lambda c: [Request(c.action, _arn(c, "sagemaker", f"{kind}/{str(c.params[param]).lower()}"))]


MODELS: dict[str, Callable[[Call], list[Request]]] = {
    **dict.fromkeys(
        (
            "ecs:ListClusters",
            "ecs:ListServices",
            "lambda:ListFunctions",
            "lambda:ListEventSourceMappings",
            "sagemaker:ListNotebookInstances",
            "sagemaker:ListEndpoints",
            "sagemaker:ListTrainingJobs",
            "sagemaker:ListProcessingJobs",
            "sagemaker:ListTransformJobs",
        ),
        _any,
    ),
    "eks:ListClusters": _any,
    "glue:GetJobs": _any,
    **dict.fromkeys(
        ("glue:GetJobRuns", "glue:BatchStopJobRun"),
        lambda c: [Request(c.action, _arn(c, "glue", f"job/{c.params['JobName']}"))],
    ),
    "codebuild:ListBuilds": _any,
    "codebuild:BatchGetBuilds": lambda c: [
        Request(c.action, _arn(c, "codebuild", f"project/{i.split(':')[0]}")) for i in c.params.get("ids", [])
    ],
    "codebuild:StopBuild": lambda c: [
        Request(c.action, _arn(c, "codebuild", f"project/{c.params['id'].split(':')[0]}"))
    ],
    "lightsail:GetInstances": _any,
    # AWS authorizes on the instance's ARN (Instance/<uuid>); the name stands in for the uuid: same grant matches
    "lightsail:StopInstance": lambda c: [
        Request(c.action, _arn(c, "lightsail", f"Instance/{c.params['instanceName']}"))
    ],
    "batch:DescribeComputeEnvironments": _any,
    "batch:DescribeJobQueues": _any,
    "batch:ListJobs": _any,
    "batch:TerminateJob": lambda c: [Request(c.action, _arn(c, "batch", f"job/{c.params['jobId']}"))],
    "batch:UpdateComputeEnvironment": lambda c: [
        Request(c.action, str(c.params["computeEnvironment"]))
        if str(c.params["computeEnvironment"]).startswith("arn:")
        else Request(c.action, _arn(c, "batch", f"compute-environment/{c.params['computeEnvironment']}"))
    ],
    "eks:ListNodegroups": lambda c: [Request(c.action, _arn(c, "eks", f"cluster/{c.params['clusterName']}"))],
    **dict.fromkeys(
        ("eks:DescribeNodegroup", "eks:UpdateNodegroupConfig"),
        lambda c: [
            Request(c.action, _arn(c, "eks", f"nodegroup/{c.params['clusterName']}/{c.params['nodegroupName']}/id"))
        ],
    ),
    "sagemaker:DescribeEndpoint": _sagemaker("endpoint", "EndpointName"),
    "sagemaker:DeleteEndpoint": _sagemaker("endpoint", "EndpointName"),
    "sagemaker:DescribeEndpointConfig": _sagemaker("endpoint-config", "EndpointConfigName"),
    "sagemaker:StopNotebookInstance": _sagemaker("notebook-instance", "NotebookInstanceName"),
    **{
        f"sagemaker:{verb}{what}Job": _sagemaker(f"{what.lower()}-job", f"{what}JobName")
        for verb in ("Describe", "Stop")
        for what in ("Training", "Processing", "Transform")
    },
    "sagemaker:ListTags": lambda c: [Request(c.action, str(c.params["ResourceArn"]))],
    "ecs:DescribeServices": _ecs("service", "services"),
    "ecs:UpdateService": _ecs("service", "service"),
    "ecs:DescribeTasks": _ecs("task", "tasks"),
    "ecs:StopTask": _ecs("task", "task"),
    "ecs:ListTasks": lambda c: [Request(c.action, _arn(c, "ecs", f"container-instance/{_cluster(c)}/*"))],
    "ec2:StopInstances": _ec2_ids("InstanceIds"),
    "lambda:ListTags": _function,
    "lambda:PutFunctionConcurrency": _function,
    "lambda:UpdateEventSourceMapping": lambda c: [
        Request(c.action, _arn(c, "lambda", f"event-source-mapping:{c.params['UUID']}"))
    ],
}
