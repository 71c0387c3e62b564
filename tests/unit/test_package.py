"""infra/package.py on a small stand-in for `chalice package --merge-template infra/resources.json` output."""
from __future__ import annotations

import copy
import importlib.util
import json
import re
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


PLACEHOLDER_ROLE = package.lambdas.PLACEHOLDER_ROLE


def _function(handler: str, timeout: int = 30, events: dict | None = None) -> dict:
    """A function as Chalice writes it with manage_iam_role false (.chalice/config.json)."""
    props = {"Runtime": "python3.11", "Handler": handler, "CodeUri": "./deployment.zip", "Timeout": timeout,
             "Environment": {"Variables": {"APP_STAGE": "prod"}}, "Role": PLACEHOLDER_ROLE}
    if events:
        props["Events"] = events
    return {"Type": "AWS::Serverless::Function", "Properties": props}


def fake_sam(queue_name: str = "lfo-prod-forwarding", timeout: int = 60, *, outbox: bool = True,
             stream_table: str = "lfo-prod-ledger") -> dict:
    """What Chalice writes for the routes, the SQS consumer, the schedule and (optionally) the outbox stream
    consumer, merged with infra/resources.json."""
    sqs_event = {"ForwardReceiptsSqsEventSource": {"Type": "SQS", "Properties": {
        "Queue": {"Fn::Sub": f"arn:${{AWS::Partition}}:sqs:${{AWS::Region}}:${{AWS::AccountId}}:{queue_name}"},
        "BatchSize": 10, "MaximumBatchingWindowInSeconds": 0}}}
    resources = {
        "ForwardReceipts": _function("app.forward_receipts", timeout, sqs_event),
        "SweepDeliveries": _function("app.sweep_deliveries", 120, {"SweepDeliveriesEvent": {
            "Type": "Schedule", "Properties": {"Schedule": "rate(5 minutes)"}}}),
        "SupportClock": _function("app.support_clock", 60, {"SupportClockEvent": {
            "Type": "Schedule", "Properties": {"Schedule": "rate(5 minutes)"}}}),
        "APIHandler": _function("app.app"),
        "RestAPI": {"Type": "AWS::Serverless::Api", "Properties": {"StageName": "api", "DefinitionBody": {}}},
    }
    if outbox:
        resources["SweepOutbox"] = _function("app.sweep_outbox", 120, {"SweepOutboxEvent": {
            "Type": "Schedule", "Properties": {"Schedule": "rate(5 minutes)"}}})
        resources["DispatchOutbox"] = _function("app.dispatch_outbox", 60, {"DispatchOutboxDynamodbEventSource": {
            "Type": "DynamoDB", "Properties": {
                "Stream": f"arn:aws:dynamodb:ap-southeast-1:000000000000:table/{stream_table}/stream/any",
                "BatchSize": 100, "StartingPosition": "TRIM_HORIZON"}}})
    sam = {"AWSTemplateFormatVersion": "2010-09-09", "Transform": "AWS::Serverless-2016-10-31",
           "Resources": resources}
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
    for function in ("ForwardReceipts", "APIHandler", "SweepDeliveries", "DispatchOutbox", "SweepOutbox"):
        variables = out["Resources"][function]["Properties"]["Environment"]["Variables"]
        assert variables["DOSSIERS_TABLE"] == {"Ref": "DossiersTable"}
        assert variables["LEDGER_TABLE"] == {"Ref": "LedgerTable"}
        assert variables["DIRECTORY_TABLE"] == {"Ref": "DirectoryTable"}
        assert variables["FORWARDING_QUEUE_URL"] == {"Ref": "ForwardingQueue"}
        assert variables["FORWARDING_DLQ_URL"] == {"Ref": "ForwardingDLQ"}
        assert variables["ALERTS_TOPIC_ARN"] == {"Ref": "AlertsTopic"}
        assert variables["DOCUMENTS_BUCKET"] == {"Ref": "DocumentsBucket"}
        assert variables["APP_SECRET_NAME"] == {"Ref": "AppSecret"}
        assert variables["APP_KEY_ARN"] == {"Fn::GetAtt": ["AppKey", "Arn"]}
        assert variables["COGNITO_USER_POOL_ID"] == {"Ref": "UserPool"}
        assert variables["COGNITO_CITIZEN_CLIENT_ID"] == {"Ref": "CitizenClient"}
        assert variables["COGNITO_STAFF_CLIENT_ID"] == {"Ref": "StaffClient"}
    assert out["Resources"]["ForwardReceipts"]["Properties"]["Environment"]["Variables"]["APP_STAGE"] == "prod"


def test_stage_parameter_defaults_to_the_packaging_stage():
    assert package.process(fake_sam(), "prod")["Parameters"]["Stage"]["Default"] == "prod"


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
def test_chalice_config_stage(stage):
    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    merged = {**config, **config["stages"][stage]}
    assert merged["app_name"] == "lfo-land-payments"
    assert merged["autogen_policy"] is False
    # infra/package.py creates every function's role from infra/iam.json; Chalice must create none.
    assert merged["manage_iam_role"] is False
    assert merged["iam_role_arn"] == PLACEHOLDER_ROLE
    assert "iam_policy_file" not in merged
    for settings in merged.get("lambda_functions", {}).values():
        assert not {"iam_policy_file", "iam_role_arn", "manage_iam_role"} & set(settings)
    assert merged["api_gateway_endpoint_type"] == "REGIONAL"
    assert merged["environment_variables"]["APP_STAGE"] == stage
    # The user pool's ids come from the template (infra/package.py RESOURCE_ENV), never from config: no token
    # settings at all, and no trace of the old local issuer.
    assert not {k for k in merged["environment_variables"] if k.startswith(("JWT", "JWKS", "COGNITO", "LOCAL_JWT"))}
    assert set(json.loads(merged["environment_variables"]["BANK_GATEWAY_URLS"])) == {"VCB", "ICB", "BIDV", "VBA", "MB"}
    # A consumer may not outlive the forwarding queue's visibility timeout (AWS refuses the mapping).
    visibility = RESOURCES["Resources"]["ForwardingQueue"]["Properties"]["VisibilityTimeout"]
    for settings in merged.get("lambda_functions", {}).values():
        assert settings.get("lambda_timeout", merged["lambda_timeout"]) <= visibility


# --- the outbox stream consumer -----------------------------------------------------------------------------------

def test_stream_consumer_reads_the_ledger_stream_and_gives_up_into_the_outbox_dlq():
    out = package.process(fake_sam(), "prod")
    event = out["Resources"]["DispatchOutbox"]["Properties"]["Events"]["DispatchOutboxDynamodbEventSource"]
    props = event["Properties"]
    assert props["Stream"] == {"Fn::GetAtt": ["LedgerTable", "StreamArn"]}
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["BisectBatchOnFunctionError"] is True
    assert props["DestinationConfig"] == {"OnFailure": {"Type": "SQS",
                                                        "Destination": {"Fn::GetAtt": ["OutboxDLQ", "Arn"]}}}
    # Bounded: a poison record may not hold the shard for the stream's 24 h.
    assert 0 < props["MaximumRetryAttempts"] <= 20 and 0 < props["MaximumRecordAgeInSeconds"] <= 6 * 3600
    assert props["StartingPosition"] == "TRIM_HORIZON"
    assert package.process(out, "prod") == out  # idempotent


@pytest.mark.parametrize("table", ["lfo-dev-ledger", "lfo-prod-dossiers", "somebody-elses-table"])
def test_stream_of_another_table_or_stage_is_refused(table):
    with pytest.raises(package.PackageError, match="stream"):
        package.process(fake_sam(stream_table=table), "prod")


def test_ledger_table_streams_new_images():
    ledger = RESOURCES["Resources"]["LedgerTable"]["Properties"]
    assert ledger["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
    assert "StreamSpecification" not in RESOURCES["Resources"]["DossiersTable"]["Properties"]


# --- API Gateway ----------------------------------------------------------------------------------------------------

def _responses() -> dict:
    return package.process(fake_sam(), "prod")["Resources"]["RestAPI"]["Properties"]["GatewayResponses"]


def test_gateway_responses_answer_problem_json_with_a_code_and_a_vietnamese_detail():
    from chalicelib.core.errors import PROBLEM_BASE

    responses = _responses()
    assert {"DEFAULT_4XX", "DEFAULT_5XX", "MISSING_AUTHENTICATION_TOKEN", "UNAUTHORIZED", "ACCESS_DENIED",
            "THROTTLED", "REQUEST_TOO_LARGE", "WAF_FILTERED", "INTEGRATION_TIMEOUT"} <= set(responses)
    for response_type, response in responses.items():
        assert response["ResponseParameters"]["Headers"]["Content-Type"] == "'application/problem+json'"
        body = json.loads(response["ResponseTemplates"]["application/json"])
        assert re.fullmatch(r"[A-Z][A-Z0-9_]+", body["code"]), response_type
        assert body["type"] == PROBLEM_BASE + body["code"].lower().replace("_", "-")
        assert not body["detail"].isascii() and not body["title"].isascii(), response_type  # Vietnamese
        assert "$" not in response["ResponseTemplates"]["application/json"]  # no VTL surprises
        if "StatusCode" in response:
            assert body["status"] == int(response["StatusCode"])
        else:
            assert "status" not in body  # DEFAULT_*: API Gateway keeps its own status, the body may not lie


def test_unknown_routes_and_methods_answer_404_not_403():
    response = _responses()["MISSING_AUTHENTICATION_TOKEN"]
    assert response["StatusCode"] == "404"
    assert json.loads(response["ResponseTemplates"]["application/json"])["code"] == "ROUTE_NOT_FOUND"
    assert _responses()["THROTTLED"]["ResponseParameters"]["Headers"]["Retry-After"] == "'60'"


def test_api_stage_is_access_logged_without_paths_and_named_per_stage():
    api = package.process(fake_sam(), "prod")["Resources"]["RestAPI"]
    props = api["Properties"]
    assert props["Name"] == {"Fn::Sub": "lfo-${Stage}-api"}
    assert props["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    log_format = json.loads(props["AccessLogSetting"]["Format"])
    assert log_format["requestId"] == "$context.requestId" and log_format["status"] == "$context.status"
    # Paths carry payment and receipt ids; the route template does not.
    assert "$context.path" not in props["AccessLogSetting"]["Format"]
    assert log_format["route"] == "$context.resourcePath"
    (settings,) = props["MethodSettings"]
    assert settings["DataTraceEnabled"] is False  # never log request bodies (ID numbers)
    assert "ApiGatewayAccount" in api["DependsOn"]


def test_api_5xx_alarm_must_watch_the_packaged_api():
    sam = fake_sam()
    sam["Resources"]["RestAPI"]["Properties"]["StageName"] = "v2"
    with pytest.raises(package.PackageError, match="Api5xxRateAlarm"):
        package.process(sam, "prod")


def test_app_without_routes_drops_what_refers_to_the_api():
    sam = fake_sam()
    del sam["Resources"]["RestAPI"], sam["Resources"]["APIHandler"]
    out = package.process(sam, "prod")
    assert "CitizenWebAclAssociation" not in out["Resources"]
    assert "CitizenWebAcl" in out["Resources"]


# --- alarms, WAF, lifecycle -----------------------------------------------------------------------------------------

def test_alarms_go_to_the_operators_topic():
    out = package.process(fake_sam(), "prod")["Resources"]
    alarms = {k: r["Properties"] for k, r in out.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    expected = {"ForwardingDLQDepthAlarm", "OutboxDLQDepthAlarm", "ForwardingOldestMessageAlarm", "Api5xxRateAlarm",
                "DispatchOutboxIteratorAgeAlarm"}
    for function in ("APIHandler", "ForwardReceipts", "SweepDeliveries", "DispatchOutbox", "SweepOutbox"):
        expected |= {f"{function}ErrorsAlarm", f"{function}ThrottlesAlarm"}
    assert expected <= set(alarms)
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [{"Ref": "AlertsTopic"}]
    assert alarms["APIHandlerErrorsAlarm"]["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "APIHandler"}}]
    assert alarms["ForwardingOldestMessageAlarm"]["Threshold"] == {"Ref": "ForwardingAgeAlarmSeconds"}
    assert alarms["Api5xxRateAlarm"]["Statistic"] == "Average"  # 5XXError's average is the 5xx rate
    # Alarms can publish only to a topic under a customer managed key whose policy lets CloudWatch use it.
    assert out["AlertsTopic"]["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": ["OpsKey", "Arn"]}
    key_policy = json.dumps(out["OpsKey"]["Properties"]["KeyPolicy"])
    assert "cloudwatch.amazonaws.com" in key_policy


def _rate_rules() -> dict:
    rules = RESOURCES["Resources"]["CitizenWebAcl"]["Properties"]["Rules"]
    return {r["Name"]: r for r in rules if "RateBasedStatement" in r["Statement"]}


@pytest.mark.parametrize(("rule", "parameter", "paths"), [
    ("citizen-endpoints-per-ip", "CitizenRateLimit", {"/v1/lookup", "/v1/payments"}),
    ("auth-per-ip", "AuthRateLimit", {"/v1/auth/"}),
    ("otp-per-ip", "OtpRateLimit", {"/v1/otp"}),
    ("receipts-per-ip", "ReceiptsRateLimit", {"/v1/receipts"}),
])
def test_waf_rate_limits_each_path_group_per_ip(rule, parameter, paths):
    statement = _rate_rules()[rule]["Statement"]["RateBasedStatement"]
    assert statement["Limit"] == {"Ref": parameter}
    assert RESOURCES["Parameters"][parameter]["Default"] == 300
    assert (statement["AggregateKeyType"], statement["EvaluationWindowSec"]) == ("IP", 300)
    searched = {s["ByteMatchStatement"]["SearchString"] for s in statement["ScopeDownStatement"]["OrStatement"][
        "Statements"]}
    assert searched == paths | {"/api" + p for p in paths}  # with and without the default endpoint's stage prefix
    openapi = json.loads((ROOT / "openapi.json").read_text(encoding="utf-8"))
    for path in paths:
        assert any(route.startswith(path) for route in openapi["paths"]), path


def test_waf_priorities_are_unique_and_bad_inputs_come_first():
    rules = RESOURCES["Resources"]["CitizenWebAcl"]["Properties"]["Rules"]
    assert len({r["Priority"] for r in rules}) == len(rules)
    first = min(rules, key=lambda r: r["Priority"])
    assert first["Statement"]["ManagedRuleGroupStatement"]["Name"] == "AWSManagedRulesKnownBadInputsRuleSet"


def test_scan_lifecycle_rules():
    rules = {r["Id"]: r for r in RESOURCES["Resources"]["DocumentsBucket"]["Properties"]["LifecycleConfiguration"][
        "Rules"]}
    abandoned, deleted = rules["expire-abandoned-scans"], rules["purge-deleted-scans"]
    assert abandoned["Prefix"] == deleted["Prefix"] == "citizen-scans/"
    assert abandoned["TagFilters"] == [{"Key": "lfo-scan", "Value": "pending"}]
    assert abandoned["ExpirationInDays"] == {"Ref": "AbandonedScanDays"}
    assert deleted["NoncurrentVersionExpiration"] == {"NoncurrentDays": {"Ref": "AbandonedScanDays"}}
    assert deleted["ExpiredObjectDeleteMarker"] is True
    assert RESOURCES["Parameters"]["AbandonedScanDays"]["Default"] == 1


def test_every_checkov_skip_says_why():
    out = package.process(fake_sam(), "prod")
    skipped = 0
    for logical_id, resource in out["Resources"].items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert re.fullmatch(r"CKV2?_AWS_\d+", skip["id"]), logical_id
            assert len(skip.get("comment", "")) >= 40, (logical_id, skip["id"])
            skipped += 1
    assert skipped > 0


def test_keys_rotate_and_are_retained():
    for key in ("AppKey", "OpsKey"):
        resource = RESOURCES["Resources"][key]
        assert resource["Properties"]["EnableKeyRotation"] is True
        assert resource["DeletionPolicy"] == "Retain"
    assert RESOURCES["Resources"]["AppKeyAlias"]["Properties"]["AliasName"] == {"Fn::Sub": "alias/lfo-${Stage}-app"}
