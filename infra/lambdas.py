"""What every Lambda function of the packaged template gets besides its code: its own IAM role (from infra/iam.json),
its own encrypted log group with a retention, a fixed name, Errors/Throttles alarms to the operators' topic, and the
checkov decisions that apply to it. Used by infra/package.py; data-driven, so a new job needs only its iam.json entry.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

IAM_FILE = Path(__file__).resolve().parent / "iam.json"

# What `.chalice/config.json` (manage_iam_role: false) makes Chalice write as every function's Role; replaced here.
PLACEHOLDER_ROLE = "arn:aws:iam::000000000000:role/created-by-infra-package-py"

# Checkov decisions for every function (each one a Metadata.checkov.skip entry, so the reason sits with the resource).
FUNCTION_CHECKOV_SKIPS = [
    {"id": "CKV_AWS_117", "comment": "No VPC: the functions call public partner APIs (banks, provinces) and AWS public "
                                     "endpoints over the internet; a VPC would only add NAT gateways and cold-start "
                                     "ENIs, it isolates nothing they reach."},
    {"id": "CKV_AWS_116", "comment": "DeadLetterConfig catches asynchronous invocations only: the API is synchronous, "
                                     "the SQS and stream consumers are poll-based (their failures go to ForwardingDLQ "
                                     "and OutboxDLQ), the schedule re-runs every 5 minutes and is idempotent."},
    {"id": "CKV_AWS_115", "comment": "No reserved concurrency: it is taken from the account's unreserved pool (deploys "
                                     "fail in accounts with a low limit) and would cap citizens at peak; clients are "
                                     "limited per IP by WAF, partners by the SQS batch size."},
    {"id": "CKV_AWS_173", "comment": "The environment holds resource names, URLs and switches only (secrets are in "
                                     "Secrets Manager); Lambda encrypts it at rest with its AWS managed key, and a CMK "
                                     "would need kms:Decrypt in every role."},
]

ALARM_PERIOD_S = 300
ITERATOR_AGE_ALARM_MS = 300_000  # a stream consumer 5 minutes behind: outbox SMS and messages are late


class IamError(ValueError):
    """infra/iam.json is inconsistent or lacks a function."""


def load_iam(path: Path = IAM_FILE) -> dict[str, Any]:
    """{"statements": {sid: statement with Sid, notes removed}, "functions": {name: {"statements": [...], ...}}}."""
    data = json.loads(path.read_text(encoding="utf-8"))
    statements = {sid: {"Sid": sid, **_without_notes(s)} for sid, s in data["statements"].items()}
    functions = {name: _without_notes(f) for name, f in data["functions"].items()}
    for name, entry in functions.items():
        unknown = sorted(set(entry["statements"]) - set(statements))
        if unknown:
            raise IamError(f"infra/iam.json: {name} names unknown statements {unknown}")
    return {"statements": statements, "functions": functions}


def _without_notes(node: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in node.items() if not k.startswith("_")}


def function_name(handler: str) -> str:
    """The iam.json entry of a Chalice handler: `app.app` (the REST API) is `api`, `app.<name>` is `<name>`."""
    attribute = handler.split(".", 1)[-1]
    return "api" if attribute == "app" else attribute


def deployed_name(name: str) -> dict[str, str]:
    return {"Fn::Sub": f"lfo-${{Stage}}-{name.replace('_', '-')}"}


def role_statements(name: str, log_group_id: str, iam: dict[str, Any]) -> list[dict[str, Any]]:
    own_logs = {"Sid": "OwnLogGroup", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": {"Fn::GetAtt": [log_group_id, "Arn"]}}
    granted = [copy.deepcopy(iam["statements"][sid]) for sid in iam["functions"][name]["statements"]]
    return [own_logs, *granted]


def finish_function(logical_id: str, resources: dict[str, Any], iam: dict[str, Any]) -> None:
    """Give one AWS::Serverless::Function its name, role, log group, alarms and checkov metadata."""
    resource = resources[logical_id]
    props = resource["Properties"]
    name = function_name(props.get("Handler", ""))
    entry = iam["functions"].get(name)
    if entry is None:
        raise IamError(f"{logical_id} (handler {props.get('Handler')!r}) has no entry {name!r} in infra/iam.json "
                       "`functions`: add one listing what it may do")
    role_id, log_group_id = f"{logical_id}Role", f"{logical_id}LogGroup"
    role = props.get("Role")
    if role not in (PLACEHOLDER_ROLE, {"Fn::GetAtt": [role_id, "Arn"]}):
        raise IamError(f"{logical_id} has role {role!r}; .chalice/config.json must keep manage_iam_role false with "
                       f"iam_role_arn {PLACEHOLDER_ROLE}")
    props["FunctionName"] = deployed_name(name)
    props["Role"] = {"Fn::GetAtt": [role_id, "Arn"]}
    props.pop("Policies", None)
    resources[role_id] = _role(name, role_statements(name, log_group_id, iam), entry.get("checkov_skip", []))
    resources[log_group_id] = _log_group(name)
    depends = resource.get("DependsOn", [])
    depends = [depends] if isinstance(depends, str) else list(depends)
    resource["DependsOn"] = sorted(set(depends) | {log_group_id})
    set_checkov_skips(resource, FUNCTION_CHECKOV_SKIPS)
    resources.update(function_alarms(logical_id, name, props))


def _role(name: str, statements: list[dict[str, Any]], skips: list[dict[str, str]]) -> dict[str, Any]:
    role: dict[str, Any] = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "Description": {"Fn::Sub": f"lfo ${{Stage}} {name}: only what infra/iam.json grants it"},
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                               "Action": "sts:AssumeRole"}],
            },
            "Policies": [{"PolicyName": f"{name}-least-privilege",
                          "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}],
        },
    }
    if skips:
        set_checkov_skips(role, skips)
    return role


def _log_group(name: str) -> dict[str, Any]:
    return {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {
            "LogGroupName": {"Fn::Sub": f"/aws/lambda/lfo-${{Stage}}-{name.replace('_', '-')}"},
            "RetentionInDays": {"Ref": "LogRetentionDays"},
            "KmsKeyId": {"Fn::GetAtt": ["OpsKey", "Arn"]},
        },
    }


def set_checkov_skips(resource: dict[str, Any], skips: list[dict[str, str]]) -> None:
    checkov = resource.setdefault("Metadata", {}).setdefault("checkov", {})
    known = {s["id"] for s in checkov.get("skip", [])}
    checkov["skip"] = checkov.get("skip", []) + [copy.deepcopy(s) for s in skips if s["id"] not in known]


def function_alarms(logical_id: str, name: str, props: dict[str, Any]) -> dict[str, Any]:
    """Errors and Throttles for every function; IteratorAge too for a stream consumer. All to AlertsTopic."""
    alarms = {
        f"{logical_id}ErrorsAlarm": _alarm(logical_id, name, "Errors", "Sum", 0,
                                           "failed invocations (unhandled error, timeout or out of memory)"),
        f"{logical_id}ThrottlesAlarm": _alarm(logical_id, name, "Throttles", "Sum", 0,
                                              "throttled invocations (account or function concurrency reached)"),
    }
    if any(e.get("Type") == "DynamoDB" for e in props.get("Events", {}).values()):
        alarms[f"{logical_id}IteratorAgeAlarm"] = _alarm(
            logical_id, name, "IteratorAge", "Maximum", ITERATOR_AGE_ALARM_MS,
            "stream records waiting more than 5 minutes (outbox sends are late)")
    return alarms


def _alarm(logical_id: str, name: str, metric: str, statistic: str, threshold: float, what: str) -> dict[str, Any]:
    slug = name.replace("_", "-")
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmName": {"Fn::Sub": f"lfo-${{Stage}}-{slug}-{metric.lower()}"},
            "AlarmDescription": f"{name}: {what}.",
            "Namespace": "AWS/Lambda",
            "MetricName": metric,
            "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": logical_id}}],
            "Statistic": statistic,
            "Period": ALARM_PERIOD_S,
            "EvaluationPeriods": 1,
            "Threshold": threshold,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": [{"Ref": "AlertsTopic"}],
            "OKActions": [{"Ref": "AlertsTopic"}],
        },
    }
