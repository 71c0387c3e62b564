"""infra/package.py on a small stand-in for `chalice package --merge-template infra/resources.json` output."""
from __future__ import annotations

import copy
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "infra" / "package.py"
RESOURCES = json.loads((ROOT / "infra" / "resources.json").read_text(encoding="utf-8"))


def _load_package_module():
    spec = importlib.util.spec_from_file_location("infra_package", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


package = _load_package_module()


def _role(name: str, statements: list[dict]) -> dict:
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                               "Action": "sts:AssumeRole"}],
            },
            "Policies": [{"PolicyName": f"{name}Policy",
                          "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}],
        },
    }


def fake_sam(queue_name: str = "lfo-prod-forwarding", timeout: int = 60) -> dict:
    """What Chalice writes for one route and one SQS consumer, merged with infra/resources.json."""
    from_policy_file = [
        {"Sid": "TableItems", "Effect": "Allow", "Action": "dynamodb:GetItem",
         "Resource": "arn:aws:dynamodb:*:*:table/lfo-prod-ledger"},
        {"Sid": "SomethingElse", "Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*"},
    ]
    sam = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {
            "ForwardReceiptsRole": _role("ForwardReceiptsRole", copy.deepcopy(from_policy_file)),
            "ForwardReceipts": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "Runtime": "python3.11",
                    "Handler": "app.forward_receipts",
                    "CodeUri": "./deployment.zip",
                    "Timeout": timeout,
                    "Environment": {"Variables": {"APP_STAGE": "prod"}},
                    "Role": {"Fn::GetAtt": ["ForwardReceiptsRole", "Arn"]},
                    "Events": {
                        "ForwardReceiptsSqsEventSource": {
                            "Type": "SQS",
                            "Properties": {
                                "Queue": {"Fn::Sub": f"arn:${{AWS::Partition}}:sqs:${{AWS::Region}}:"
                                                     f"${{AWS::AccountId}}:{queue_name}"},
                                "BatchSize": 10,
                                "MaximumBatchingWindowInSeconds": 0,
                            },
                        }
                    },
                },
            },
            "ApiHandlerRole": _role("ApiHandlerRole", copy.deepcopy(from_policy_file)),
            "APIHandler": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "Runtime": "python3.11",
                    "Handler": "app.app",
                    "CodeUri": "./deployment.zip",
                    "Timeout": 30,
                    "Role": {"Fn::GetAtt": ["ApiHandlerRole", "Arn"]},
                },
            },
            "RestAPI": {"Type": "AWS::Serverless::Api", "Properties": {"StageName": "api"}},
        },
    }
    # `chalice package --merge-template` deep-merges the template into its own.
    for key, value in RESOURCES.items():
        if isinstance(value, dict):
            sam.setdefault(key, {}).update(copy.deepcopy(value))
        else:
            sam.setdefault(key, value)
    return sam


def run_cli(tmp_path: Path, sam: dict, *args: str) -> subprocess.CompletedProcess:
    src = tmp_path / "sam.json"
    src.write_text(json.dumps(sam), encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--stage", "prod", "--in", str(src), "--out", str(src), *args],
        capture_output=True, text=True, check=False,
    )


def test_cli_adds_report_batch_item_failures_and_wires_the_queue(tmp_path):
    result = run_cli(tmp_path, fake_sam())
    assert result.returncode == 0, result.stderr
    out = json.loads((tmp_path / "sam.json").read_text(encoding="utf-8"))
    event = out["Resources"]["ForwardReceipts"]["Properties"]["Events"]["ForwardReceiptsSqsEventSource"]
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["Properties"]["Queue"] == {"Fn::GetAtt": ["ForwardingQueue", "Arn"]}
    assert event["Properties"]["BatchSize"] == 10


def test_every_function_gets_the_resource_env_refs():
    out = package.process(fake_sam(), "prod")
    for function in ("ForwardReceipts", "APIHandler"):
        variables = out["Resources"][function]["Properties"]["Environment"]["Variables"]
        assert variables["DOSSIERS_TABLE"] == {"Ref": "DossiersTable"}
        assert variables["LEDGER_TABLE"] == {"Ref": "LedgerTable"}
        assert variables["DIRECTORY_TABLE"] == {"Ref": "DirectoryTable"}
        assert variables["FORWARDING_QUEUE_URL"] == {"Ref": "ForwardingQueue"}
        assert variables["FORWARDING_DLQ_URL"] == {"Ref": "ForwardingDLQ"}
        assert variables["ALERTS_TOPIC_ARN"] == {"Ref": "AlertsTopic"}
        assert variables["DOCUMENTS_BUCKET"] == {"Ref": "DocumentsBucket"}
        assert variables["APP_SECRET_NAME"] == {"Ref": "AppSecret"}
    assert out["Resources"]["ForwardReceipts"]["Properties"]["Environment"]["Variables"]["APP_STAGE"] == "prod"


def test_every_env_ref_and_grant_targets_a_template_resource():
    names = set(RESOURCES["Resources"])
    refs = {v.get("Ref") or v["Fn::GetAtt"][0] for v in package.RESOURCE_ENV.values()}
    assert refs <= names
    text = json.dumps(package.policy_statements())
    for logical_id in ("DossiersTable", "LedgerTable", "DirectoryTable", "ForwardingQueue", "ForwardingDLQ",
                       "AlertsTopic", "DocumentsBucket", "AppSecret"):
        assert logical_id in text


def test_stage_parameter_defaults_to_the_packaging_stage():
    assert package.process(fake_sam(), "prod")["Parameters"]["Stage"]["Default"] == "prod"


def test_roles_get_exact_statements_and_keep_unrelated_ones():
    out = package.process(fake_sam(), "prod")
    statements = out["Resources"]["ForwardReceiptsRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    by_sid = {s["Sid"]: s for s in statements}
    assert by_sid["SomethingElse"]["Action"] == "ses:SendEmail"
    assert [s["Sid"] for s in statements].count("TableItems") == 1
    assert {"Fn::GetAtt": ["LedgerTable", "Arn"]} in by_sid["TableItems"]["Resource"]
    assert {"dynamodb:ConditionCheckItem", "dynamodb:BatchGetItem", "dynamodb:Query"} <= set(
        by_sid["TableItems"]["Action"])
    assert "sqs:StartMessageMoveTask" in by_sid["DeadLetterRedrive"]["Action"]
    assert by_sid["DirectSms"]["Resource"] == "*"
    assert by_sid["AppSecret"] == {"Sid": "AppSecret", "Effect": "Allow",
                                   "Action": "secretsmanager:GetSecretValue", "Resource": {"Ref": "AppSecret"}}


def test_function_without_a_role_gets_sam_policies():
    sam = fake_sam()
    del sam["Resources"]["APIHandler"]["Properties"]["Role"]
    out = package.process(package.process(sam, "prod"), "prod")  # idempotent
    policies = out["Resources"]["APIHandler"]["Properties"]["Policies"]
    assert len(policies) == 1
    assert {s["Sid"] for s in policies[0]["Statement"]} == {s["Sid"] for s in package.policy_statements()}


def test_waf_association_is_linted_in_full_once_packaged():
    out = package.process(fake_sam(), "prod")
    association = out["Resources"]["CitizenWebAclAssociation"]
    assert "cfn-lint" not in association.get("Metadata", {})
    assert "${RestAPI}" in association["Properties"]["ResourceArn"]["Fn::Sub"]


def test_queue_of_another_stage_is_refused(tmp_path):
    # app.py names its queue after APP_STAGE; packaging prod with a dev queue name would deploy a dead consumer.
    result = run_cli(tmp_path, fake_sam(queue_name="lfo-dev-forwarding"))
    assert result.returncode == 1
    assert "lfo-dev-forwarding" in result.stderr
    assert run_cli(tmp_path, fake_sam(queue_name="lfo-dev-forwarding"), "--allow-external-queues").returncode == 0


def test_function_timeout_longer_than_visibility_timeout_is_refused():
    with pytest.raises(package.PackageError, match="visibility|hides"):
        package.process(fake_sam(timeout=121), "prod")


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_chalice_policy_files_match_the_packaged_statements(stage):
    """.chalice/policy-<stage>.json (chalice deploy) grants the same actions, by the deterministic names."""
    document = json.loads((ROOT / ".chalice" / f"policy-{stage}.json").read_text(encoding="utf-8"))
    file_actions = {s["Sid"]: s["Action"] for s in document["Statement"]}
    assert file_actions == {s["Sid"]: s["Action"] for s in package.policy_statements()}
    resources = json.dumps([s["Resource"] for s in document["Statement"]])
    for name in (f"table/lfo-{stage}-ledger", f"lfo-{stage}-forwarding-dlq", f"lfo-{stage}-alerts",
                 f"lfo-{stage}-documents-", f"secret:lfo/{stage}/app-secrets-"):
        assert name in resources


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_chalice_config_stage(stage):
    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    merged = {**config, **config["stages"][stage]}
    assert merged["app_name"] == "lfo-land-payments"
    assert merged["autogen_policy"] is False
    assert merged["iam_policy_file"] == f"policy-{stage}.json"
    assert merged["api_gateway_endpoint_type"] == "REGIONAL"
    assert merged["environment_variables"]["APP_STAGE"] == stage
    # Deployed stages verify the identity provider's tokens: the local issuer's key is public in this repository.
    assert merged["environment_variables"]["JWT_MODE"] == "jwks"
    assert set(json.loads(merged["environment_variables"]["BANK_GATEWAY_URLS"])) == {"VCB", "ICB", "BIDV", "VBA", "MB"}
    # A consumer may not outlive the forwarding queue's visibility timeout (AWS refuses the mapping).
    visibility = RESOURCES["Resources"]["ForwardingQueue"]["Properties"]["VisibilityTimeout"]
    for settings in merged.get("lambda_functions", {}).values():
        assert settings.get("lambda_timeout", merged["lambda_timeout"]) <= visibility
