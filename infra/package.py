"""Finish the SAM template written by `chalice package --merge-template infra/resources.json`.

Chalice merges our resources into its template but cannot wire its functions to them. This script, run by
`make package` (infra/make.mk) right after `chalice package`, does what Chalice does not:

* every SQS event gets `FunctionResponseTypes: [ReportBatchItemFailures]` (the consumers report the ids of the
  messages that failed; without it one failure retries the whole batch), and its Queue becomes
  `Fn::GetAtt <Queue>.Arn` when the queue is one of the template's (the event source mapping then waits for the
  queue). An SQS event on a queue the template does not define for this stage is an error, as is a function
  timeout longer than the queue's visibility timeout (AWS refuses such a mapping at deploy time);
* every function gets the resource names as environment variables (`Ref`/`Fn::GetAtt`), so .chalice/config.json
  holds no account-specific names;
* the `Stage` parameter defaults to the packaging stage;
* the Lambda roles get least-privilege statements on exactly these resources. They replace the statements of the
  same Sid that .chalice/policy-<stage>.json declares by name (used by `chalice deploy`); other statements stay;
* the cfn-lint ignore that lets infra/resources.json be linted on its own (it refers to Chalice's `RestAPI`) is
  removed, so the packaged template is linted in full.

Usage: python infra/package.py --stage prod --in out/sam.json --out out/sam.json
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path
from typing import Any

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
    "RECEIPT_SIGNING_SECRET_NAME": {"Ref": "ReceiptSigningSecret"},
}

TABLES = ("DossiersTable", "LedgerTable", "DirectoryTable")
WAF_ASSOCIATION = "CitizenWebAclAssociation"


def _arn(logical_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


IAM_FILE = Path(__file__).resolve().parent / "iam.json"


def policy_statements() -> list[dict[str, Any]]:
    """The Lambda functions' permissions on the template's resources, from infra/iam.json (notes removed)."""
    data = json.loads(IAM_FILE.read_text(encoding="utf-8"))
    return [{k: v for k, v in s.items() if not k.startswith("_")} for s in data["statements"]]


class PackageError(ValueError):
    """The packaged template cannot be made deployable."""


def process(template: dict[str, Any], stage: str, *, allow_external_queues: bool = False) -> dict[str, Any]:
    """Return the finished template (the input is not modified)."""
    out = copy.deepcopy(template)
    resources: dict[str, Any] = out["Resources"]
    missing = {_target(v) for v in RESOURCE_ENV.values()} - set(resources)
    if missing:
        raise PackageError(f"not a template merged with infra/resources.json: missing {sorted(missing)}")

    out.setdefault("Parameters", {}).setdefault("Stage", {"Type": "String"})["Default"] = stage
    queues = _queues_by_name(resources, stage)
    statements = policy_statements()
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource.setdefault("Properties", {})
        props.setdefault("Environment", {}).setdefault("Variables", {}).update(copy.deepcopy(RESOURCE_ENV))
        _wire_sqs_events(logical_id, props, queues, resources, allow_external_queues)
        _wire_stream_events(logical_id, props, stage)
        _grant(logical_id, props, resources, statements)
    _finish_waf_association(resources)
    return out


def _target(intrinsic: dict[str, Any]) -> str:
    return intrinsic["Ref"] if "Ref" in intrinsic else intrinsic["Fn::GetAtt"][0]


def _queues_by_name(resources: dict[str, Any], stage: str) -> dict[str, str]:
    """Queue name for this stage -> logical id, for the template's queues."""
    names = {}
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::SQS::Queue":
            continue
        name = resource.get("Properties", {}).get("QueueName")
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


def _wire_stream_events(logical_id: str, props: dict[str, Any], stage: str) -> None:
    """Point DynamoDB stream events at the template's table streams (app.py names a placeholder ARN with the table
    name) and let the handler report partial batch failures."""
    tables = {f"lfo-{stage}-{name}": logical for name, logical in
              (("ledger", "LedgerTable"), ("dossiers", "DossiersTable"), ("directory", "DirectoryTable"))}
    for event_name, event in props.get("Events", {}).items():
        if event.get("Type") != "DynamoDB":
            continue
        event_props = event.setdefault("Properties", {})
        event_props["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
        stream = event_props.get("Stream")
        if isinstance(stream, dict):
            continue  # already wired (the script is idempotent)
        table = str(stream).split(":table/", 1)[-1].split("/", 1)[0]
        if table not in tables:
            raise PackageError(f"{logical_id}.{event_name} reads the stream of {table!r}, not a template table")
        event_props["Stream"] = {"Fn::GetAtt": [tables[table], "StreamArn"]}


def _grant(logical_id: str, props: dict[str, Any], resources: dict[str, Any], statements: list[dict]) -> None:
    """Put the statements into the function's role (Chalice's own role resource), or SAM Policies if it has none."""
    role = props.get("Role")
    if isinstance(role, dict) and "Fn::GetAtt" in role:
        role_resource = resources[role["Fn::GetAtt"][0]]
        policies = role_resource["Properties"].setdefault("Policies", [])
        if not policies:
            policies.append({"PolicyName": f"{logical_id}Policy", "PolicyDocument": {"Version": "2012-10-17"}})
        document = policies[0]["PolicyDocument"]
        _merge_statements(document, statements)
    elif role is None:
        props["Policies"] = [p for p in props.get("Policies", []) if not _is_ours(p)]
        props["Policies"].append({"Version": "2012-10-17", "Statement": copy.deepcopy(statements)})
    else:
        raise PackageError(f"{logical_id} uses a role this script does not manage: {role!r}")


def _merge_statements(document: dict[str, Any], statements: list[dict[str, Any]]) -> None:
    ours = {s["Sid"] for s in statements}
    current = document.get("Statement", [])
    current = current if isinstance(current, list) else [current]
    kept = [s for s in current if s.get("Sid") not in ours]
    document["Statement"] = kept + copy.deepcopy(statements)


def _is_ours(policy: Any) -> bool:
    return isinstance(policy, dict) and any(s.get("Sid") == "TableItems" for s in policy.get("Statement", []))


def _finish_waf_association(resources: dict[str, Any]) -> None:
    association = resources.get(WAF_ASSOCIATION)
    if association is None:
        return
    if "RestAPI" not in resources:
        # An app without routes has no API to protect.
        del resources[WAF_ASSOCIATION]
        return
    metadata = association.get("Metadata", {})
    metadata.pop("cfn-lint", None)
    if not metadata:
        association.pop("Metadata", None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", required=True)
    parser.add_argument("--in", dest="src", type=Path, required=True, help="sam.json written by chalice package")
    parser.add_argument("--out", dest="dst", type=Path, required=True)
    parser.add_argument("--allow-external-queues", action="store_true")
    args = parser.parse_args(argv)
    template = json.loads(args.src.read_text(encoding="utf-8"))
    try:
        result = process(template, args.stage, allow_external_queues=args.allow_external_queues)
    except PackageError as exc:
        print(f"package.py: {exc}", file=sys.stderr)
        return 1
    args.dst.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
