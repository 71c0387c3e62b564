"""Finish the SAM template written by `chalice package --merge-template infra/resources.json`, and its zip.

Chalice merges our resources into its template but cannot wire its functions to them. This script, run by
`make package` (infra/make.mk) right after `chalice package`, does what Chalice does not:

* every SQS event gets `FunctionResponseTypes: [ReportBatchItemFailures]` (the consumers report the ids of the
  messages that failed; without it one failure retries the whole batch), and its Queue becomes
  `Fn::GetAtt <Queue>.Arn` when the queue is one of the template's (the event source mapping then waits for the
  queue). An SQS event on a queue the template does not define for this stage is an error, as is a function
  timeout longer than the queue's visibility timeout (AWS refuses such a mapping at deploy time);
* every DynamoDB stream event (the outbox consumer) reads the stream of the template's table its ARN names (a stream
  ARN carries a label only known after deployment, so app.py may name any label), reports partial batch failures,
  bisects a failing batch, and sends what it gives up on to OutboxDLQ (OnFailure destination);
* every function gets the resource names as environment variables (`Ref`/`Fn::GetAtt`), so .chalice/config.json
  holds no account-specific names;
* every function gets its own IAM role from infra/iam.json, its own KMS-encrypted log group with a retention, a fixed
  name (lfo-<stage>-<function>) and alarms (infra/lambdas.py); a function without an iam.json entry is an error;
* the RestAPI gets a stage-unique name, API Gateway's own answers as problem+json (infra/gateway_responses.json),
  access logging and stage settings;
* the `Stage` parameter defaults to the packaging stage;
* the cfn-lint ignores that let infra/resources.json be linted on its own (its references to Chalice's `RestAPI`)
  are removed, so the packaged template is linted in full;
* with --zip: boto3/botocore/s3transfer (provided by the Lambda runtime) are taken out of the deployment zip, which
  may then not exceed 30 MB (infra/bundle.py).

Usage: python infra/package.py --stage prod --in out/sam.json --out out/sam.json [--zip out/deployment.zip]
"""
from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bundle  # infra/ is a folder of scripts, not a package: its modules import by file location
import lambdas

# Environment variable -> value in the packaged template. Secrets Manager accepts the secret's ARN (what Ref
# returns) wherever it accepts its name, and the ARN names exactly one secret.
RESOURCE_ENV: dict[str, Any] = {
    "DOSSIERS_TABLE": {"Ref": "DossiersTable"},
    "LEDGER_TABLE": {"Ref": "LedgerTable"},
    "DIRECTORY_TABLE": {"Ref": "DirectoryTable"},
    "FORWARDING_QUEUE_URL": {"Ref": "ForwardingQueue"},
    "FORWARDING_DLQ_URL": {"Ref": "ForwardingDLQ"},
    "ALERTS_TOPIC_ARN": {"Ref": "AlertsTopic"},
    "ALERT_EMAILS_TOPIC_ARN": {"Ref": "AlertEmailsTopic"},
    "DOCUMENTS_BUCKET": {"Ref": "DocumentsBucket"},
    "APP_SECRET_NAME": {"Ref": "AppSecret"},
    "APP_KEY_ARN": {"Fn::GetAtt": ["AppKey", "Arn"]},
    "COGNITO_USER_POOL_ID": {"Ref": "UserPool"},
    "COGNITO_CITIZEN_CLIENT_ID": {"Ref": "CitizenClient"},
    "COGNITO_STAFF_CLIENT_ID": {"Ref": "StaffClient"},
}

GATEWAY_RESPONSES_FILE = Path(__file__).resolve().parent / "gateway_responses.json"
API_NAME = "lfo-${Stage}-api"  # the ApiName dimension of Api5xxRateAlarm in infra/resources.json
API_5XX_ALARM = "Api5xxRateAlarm"
API_ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId", "time": "$context.requestTimeEpoch", "ip": "$context.identity.sourceIp",
    "method": "$context.httpMethod", "route": "$context.resourcePath", "status": "$context.status",
    "bytes": "$context.responseLength", "latencyMs": "$context.responseLatency",
    "integrationMs": "$context.integrationLatency", "integrationError": "$context.integration.error",
    "gatewayError": "$context.error.responseType", "waf": "$context.wafResponseCode",
    "userAgent": "$context.identity.userAgent",
}
API_CHECKOV_SKIPS = [
    {"id": "CKV_AWS_120", "comment": "No API cache: answers are per citizen, officer or partner (personal data, "
                                     "payment state); a cached answer would leak or go stale."},
    {"id": "CKV_AWS_73", "comment": "No X-Ray: requests are correlated by API Gateway's request id in the access log "
                                    "and by Powertools logs and metrics; tracing would add xray:Put* on * to every "
                                    "role and per-trace cost without an SDK in the code to make traces useful."},
]
# Stream consumer retries: a poison record is isolated by bisection and given up after this many attempts or this
# age, so it cannot hold the shard for the stream's 24 h; the outbox item itself stays in the ledger.
STREAM_MAX_RETRIES = 10
STREAM_MAX_RECORD_AGE_S = 3600
STREAM_FAILURES_QUEUE = "OutboxDLQ"


class PackageError(ValueError):
    """The packaged template cannot be made deployable."""


def gateway_responses(path: Path = GATEWAY_RESPONSES_FILE) -> dict[str, Any]:
    """infra/gateway_responses.json as the SAM `GatewayResponses` of an AWS::Serverless::Api."""
    data = json.loads(path.read_text(encoding="utf-8"))
    out = {}
    for response_type, spec in data["responses"].items():
        body = {"type": data["problem_base"] + spec["code"].lower().replace("_", "-"), "title": spec["title"]}
        if "status" in spec:
            body["status"] = spec["status"]
        body |= {"detail": spec["detail"], "code": spec["code"]}
        headers = {"Content-Type": "application/problem+json", **spec.get("headers", {})}
        response: dict[str, Any] = {
            "ResponseParameters": {"Headers": {k: f"'{v}'" for k, v in headers.items()}},
            "ResponseTemplates": {"application/json": json.dumps(body, ensure_ascii=False)},
        }
        if "status" in spec:
            response["StatusCode"] = str(spec["status"])
        out[response_type] = response
    return out


def process(template: dict[str, Any], stage: str, *, allow_external_queues: bool = False) -> dict[str, Any]:
    """Return the finished template (the input is not modified)."""
    out = copy.deepcopy(template)
    resources: dict[str, Any] = out["Resources"]
    missing = {_target(v) for v in RESOURCE_ENV.values()} - set(resources)
    if missing:
        raise PackageError(f"not a template merged with infra/resources.json: missing {sorted(missing)}")

    out.setdefault("Parameters", {}).setdefault("Stage", {"Type": "String"})["Default"] = stage
    queues = _names_by_stage(resources, stage, "AWS::SQS::Queue", "QueueName")
    tables = _names_by_stage(resources, stage, "AWS::DynamoDB::Table", "TableName")
    iam = lambdas.load_iam()
    functions = [k for k, r in resources.items() if r.get("Type") == "AWS::Serverless::Function"]
    for logical_id in functions:
        props = resources[logical_id].setdefault("Properties", {})
        props.setdefault("Environment", {}).setdefault("Variables", {}).update(copy.deepcopy(RESOURCE_ENV))
        _wire_sqs_events(logical_id, props, queues, resources, allow_external_queues)
        _wire_stream_events(logical_id, props, tables, resources)
        try:
            lambdas.finish_function(logical_id, resources, iam)
        except lambdas.IamError as exc:
            raise PackageError(str(exc)) from None
    _finish_rest_api(resources)
    _finish_package_only(resources)
    return out


def _arn(logical_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def _target(intrinsic: dict[str, Any]) -> str:
    return intrinsic["Ref"] if "Ref" in intrinsic else intrinsic["Fn::GetAtt"][0]


def _names_by_stage(resources: dict[str, Any], stage: str, rtype: str, name_property: str) -> dict[str, str]:
    """Physical name for this stage -> logical id, for the template's resources of one type (queues, tables)."""
    names = {}
    for logical_id, resource in resources.items():
        if resource.get("Type") != rtype:
            continue
        name = resource.get("Properties", {}).get(name_property)
        if isinstance(name, dict) and "Fn::Sub" in name and isinstance(name["Fn::Sub"], str):
            name = name["Fn::Sub"].replace("${Stage}", stage)
        if isinstance(name, str) and "${" not in name:
            names[name] = logical_id
    return names


def _queue_name(queue: Any) -> str | None:
    """The queue name at the end of the ARN Chalice writes (a plain string or an Fn::Sub string)."""
    if isinstance(queue, dict) and isinstance(queue.get("Fn::Sub"), str):
        queue = queue["Fn::Sub"]
    return queue.rsplit(":", 1)[-1] if isinstance(queue, str) else None


def _wire_sqs_events(
    logical_id: str,
    props: dict[str, Any],
    queues: dict[str, str],
    resources: dict[str, Any],
    allow_external_queues: bool,
) -> None:
    for event_name, event in props.get("Events", {}).items():
        if event.get("Type") != "SQS":
            continue
        event_props = event.setdefault("Properties", {})
        event_props["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
        queue = event_props.get("Queue")
        name = _queue_name(queue)
        queue_id = queues.get(name or "")
        if isinstance(queue, dict) and "Fn::GetAtt" in queue and queue["Fn::GetAtt"][0] in queues.values():
            queue_id = queue["Fn::GetAtt"][0]  # already wired (the script is idempotent)
        if queue_id is None:
            if allow_external_queues:
                continue
            raise PackageError(
                f"{logical_id}.{event_name} listens to queue {name!r}, which the template does not define for "
                f"this stage (known: {sorted(queues)}); check the stage or pass --allow-external-queues"
            )
        event_props["Queue"] = _arn(queue_id)
        visibility = int(resources[queue_id].get("Properties", {}).get("VisibilityTimeout", 30))
        timeout = int(props.get("Timeout", 3))
        if timeout > visibility:
            raise PackageError(
                f"{logical_id} times out after {timeout} s but {queue_id} hides a message for {visibility} s: "
                "AWS refuses the event source mapping"
            )


_STREAM_TABLE = re.compile(r":table/([^/]+)/stream/")


def _wire_stream_events(logical_id: str, props: dict[str, Any], tables: dict[str, str],
                        resources: dict[str, Any]) -> None:
    for event_name, event in props.get("Events", {}).items():
        if event.get("Type") != "DynamoDB":
            continue
        event_props = event.setdefault("Properties", {})
        stream = event_props.get("Stream")
        if isinstance(stream, dict) and "Fn::GetAtt" in stream:
            table_id = stream["Fn::GetAtt"][0]  # already wired
        else:
            found = _STREAM_TABLE.search(stream) if isinstance(stream, str) else None
            table_id = tables.get(found.group(1) if found else "")
        if table_id not in resources or "StreamSpecification" not in resources[table_id].get("Properties", {}):
            raise PackageError(f"{logical_id}.{event_name} reads stream {stream!r}, not the stream of a table of this "
                               f"stage with a StreamSpecification (tables: {sorted(tables)})")
        event_props["Stream"] = {"Fn::GetAtt": [table_id, "StreamArn"]}
        event_props["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
        event_props.setdefault("BisectBatchOnFunctionError", True)
        event_props.setdefault("MaximumRetryAttempts", STREAM_MAX_RETRIES)
        event_props.setdefault("MaximumRecordAgeInSeconds", STREAM_MAX_RECORD_AGE_S)
        event_props["DestinationConfig"] = {
            "OnFailure": {"Type": "SQS", "Destination": {"Fn::GetAtt": [STREAM_FAILURES_QUEUE, "Arn"]}}}


def _finish_rest_api(resources: dict[str, Any]) -> None:
    """Name, gateway responses, access log and stage settings of Chalice's RestAPI (absent: an app without routes)."""
    api = resources.get("RestAPI")
    if api is None:
        return
    props = api.setdefault("Properties", {})
    props["Name"] = {"Fn::Sub": API_NAME}
    props["GatewayResponses"] = gateway_responses()
    props["AccessLogSetting"] = {"DestinationArn": {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]},
                                 "Format": json.dumps(API_ACCESS_LOG_FORMAT, separators=(",", ":"))}
    # Execution logging off: it would go to a log group API Gateway creates itself, with no retention or key; the
    # access log carries status, latency and the integration's error.
    props["MethodSettings"] = [{"ResourcePath": "/*", "HttpMethod": "*", "MetricsEnabled": True,
                                "LoggingLevel": "OFF", "DataTraceEnabled": False}]
    depends = api.get("DependsOn", [])
    depends = [depends] if isinstance(depends, str) else list(depends)
    api["DependsOn"] = sorted(set(depends) | {"ApiGatewayAccount"})
    lambdas.set_checkov_skips(api, API_CHECKOV_SKIPS)
    alarm = resources.get(API_5XX_ALARM)
    if alarm is not None:
        dimensions = {d["Name"]: d["Value"] for d in alarm["Properties"]["Dimensions"]}
        expected = {"ApiName": {"Fn::Sub": API_NAME}, "Stage": props.get("StageName")}
        if dimensions != expected:
            raise PackageError(f"{API_5XX_ALARM} watches {dimensions}, but the API is {expected}")


def _references(node: Any) -> set[str]:
    """Logical ids a fragment refers to by Ref, Fn::GetAtt or an Fn::Sub variable."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(value[0] if isinstance(value, list) else str(value).split(".")[0])
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                found |= {m.split(".")[0] for m in re.findall(r"\$\{([^}!][^}]*)\}", text)}
                found |= _references(value[1]) if isinstance(value, list) else set()
            else:
                found |= _references(value)
    elif isinstance(node, list):
        for item in node:
            found |= _references(item)
    return found


def _finish_package_only(resources: dict[str, Any]) -> None:
    """infra/resources.json's resources that refer to Chalice's RestAPI lose their cfn-lint ignore (the packaged
    template is linted in full), or go when there is no API to refer to."""
    for logical_id, resource in list(resources.items()):
        metadata = resource.get("Metadata", {})
        if "cfn-lint" not in metadata or "RestAPI" not in _references(resource.get("Properties", {})):
            continue
        if "RestAPI" not in resources:
            del resources[logical_id]
            continue
        metadata.pop("cfn-lint")
        if not metadata:
            resource.pop("Metadata")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", required=True)
    parser.add_argument("--in", dest="src", type=Path, required=True, help="sam.json written by chalice package")
    parser.add_argument("--out", dest="dst", type=Path, required=True)
    parser.add_argument("--zip", dest="zip_path", type=Path, help="deployment.zip to slim and check (30 MB)")
    parser.add_argument("--allow-external-queues", action="store_true")
    args = parser.parse_args(argv)
    template = json.loads(args.src.read_text(encoding="utf-8"))
    try:
        result = process(template, args.stage, allow_external_queues=args.allow_external_queues)
        if args.zip_path is not None:
            before, after = bundle.slim(args.zip_path)
            bundle.check_size(args.zip_path)
            print(f"package.py: {args.zip_path} {before / 1e6:.1f} MB -> {after / 1e6:.1f} MB "
                  f"(limit {bundle.MAX_ZIP_BYTES / 1e6:.0f} MB)")
    except (PackageError, bundle.BundleError) as exc:
        print(f"package.py: {exc}", file=sys.stderr)
        return 1
    args.dst.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
