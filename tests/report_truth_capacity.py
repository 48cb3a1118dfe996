"""What AWS must show for each stop of a kind beyond EC2 that a report calls done (``report_truth`` uses these)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from compromise_responder.tools.emulator import EmulatedAws


def _service_at_zero(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    ecs = aws.client("ecs", action["region"])
    found = ecs.describe_services(cluster=action["cluster"], services=[action["target"]])["services"]
    return bool(found) and all(s["desiredCount"] == 0 for s in found)


def _task_stopped(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    found = aws.client("ecs", action["region"]).describe_tasks(cluster=action["cluster"], tasks=[action["target"]])
    return bool(found["tasks"]) and all(t["desiredStatus"] == "STOPPED" for t in found["tasks"])


def _function_throttled(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    client = aws.client("lambda", action["region"])
    if client.get_function_concurrency(FunctionName=action["target"]).get("ReservedConcurrentExecutions") != 0:
        return False
    mappings = client.list_event_source_mappings(FunctionName=action["target"])["EventSourceMappings"]
    return all(m["State"] in ("Disabled", "Disabling") for m in mappings)


def _instance_stopped(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    return aws.instance_states(action["region"]).get(action["target"]) in ("stopping", "stopped")


def _notebook_stopped(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    client = aws.client("sagemaker", action["region"])
    found = client.describe_notebook_instance(NotebookInstanceName=action["name"])
    return found["NotebookInstanceStatus"] in ("Stopping", "Stopped")


def _endpoint_gone_model_kept(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    client = aws.client("sagemaker", action["region"])
    names = {e["EndpointName"] for e in client.list_endpoints()["Endpoints"]}
    client.describe_endpoint_config(EndpointConfigName=action["endpointConfig"])  # kept: raises if it were not
    return action["name"] not in names


def _nodegroup_at_zero(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    group = aws.client("eks", action["region"]).describe_nodegroup(
        clusterName=action["cluster"], nodegroupName=action["name"]
    )
    scaling = group["nodegroup"]["scalingConfig"]
    return scaling["minSize"] == scaling["desiredSize"] == 0


def _environment_disabled(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    # moto stores the state but ignores computeResources (max vCPUs cannot be read back): the state is checked
    found = aws.client("batch", action["region"]).describe_compute_environments(computeEnvironments=[action["target"]])
    return all(e["state"] == "DISABLED" for e in found["computeEnvironments"]) and bool(found["computeEnvironments"])


def _lightsail_stopped(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    found = aws.lightsail.instances.get((action["region"], action["target"]))
    return found is not None and found["state"]["name"] == "stopped"


def _build_stopped(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    found = aws.client("codebuild", action["region"]).batch_get_builds(ids=[action["target"]])["builds"]
    return bool(found) and all(b["buildStatus"] == "STOPPED" for b in found)


def _run_stopped(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    runs = aws.client("glue", action["region"]).get_job_runs(JobName=action["job"])["JobRuns"]
    return any(r["Id"] == action["target"] and r["JobRunState"] in ("STOPPING", "STOPPED") for r in runs)


def _batch_job_terminated(aws: EmulatedAws, action: dict[str, Any]) -> bool:
    found = aws.client("batch", action["region"]).describe_jobs(jobs=[action["jobId"]])["jobs"]
    incident = action.get("incidentId")
    return bool(found) and all(
        j["jobArn"] == action["target"] and j["status"] == "FAILED" and (not incident or incident in j["statusReason"])
        for j in found
    )


def _sagemaker_job_stopped(what: str) -> Callable[[EmulatedAws, dict[str, Any]], bool]:
    def confirm(aws: EmulatedAws, action: dict[str, Any]) -> bool:
        client = aws.client("sagemaker", action["region"])
        found = getattr(client, f"describe_{what.lower()}_job")(**{f"{what}JobName": action["name"]})
        return found[f"{what}JobArn"] == action["target"] and found[f"{what}JobStatus"] in ("Stopping", "Stopped")

    return confirm


CAPACITY_CONFIRM: dict[str, Callable[[EmulatedAws, dict[str, Any]], bool]] = {
    "scale-ecs-service-to-zero": _service_at_zero,
    "stop-ecs-task": _task_stopped,
    "throttle-function": _function_throttled,
    "stop-instance": _instance_stopped,
    "stop-notebook-instance": _notebook_stopped,
    "delete-sagemaker-endpoint": _endpoint_gone_model_kept,
    "scale-nodegroup-to-zero": _nodegroup_at_zero,
    "disable-compute-environment": _environment_disabled,
    "stop-lightsail-instance": _lightsail_stopped,
    "stop-build": _build_stopped,
    "stop-glue-job-run": _run_stopped,
    "terminate-batch-job": _batch_job_terminated,
    "stop-training-job": _sagemaker_job_stopped("Training"),
    "stop-processing-job": _sagemaker_job_stopped("Processing"),
    "stop-transform-job": _sagemaker_job_stopped("Transform"),
}
CAPACITY_STOPS = frozenset(CAPACITY_CONFIRM)
