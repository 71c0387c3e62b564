"""One least-privilege IAM role per Lambda function (infra/iam.json, created by infra/package.py)."""
from __future__ import annotations

import json

import pytest

from tests.unit.test_package import PLACEHOLDER_ROLE, ROOT, _function, fake_sam, package, run_cli

IAM = json.loads((ROOT / "infra" / "iam.json").read_text(encoding="utf-8"))
FUNCTIONS = {"APIHandler": "api", "ForwardReceipts": "forward_receipts", "SweepDeliveries": "sweep_deliveries",
             "DispatchOutbox": "dispatch_outbox", "SweepOutbox": "sweep_outbox", "SupportClock": "support_clock"}
SMS_SENDERS = {"dispatch_outbox", "sweep_outbox"}  # the outbox: its stream consumer and its retry sweep


def _packaged() -> dict:
    return package.process(fake_sam(), "prod")["Resources"]


def _statements(resources: dict, function: str) -> list[dict]:
    role_id = resources[function]["Properties"]["Role"]["Fn::GetAtt"][0]
    (policy,) = resources[role_id]["Properties"]["Policies"]
    return policy["PolicyDocument"]["Statement"]


def _actions(statement: dict) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


def _grants(resources: dict, function: str) -> list[tuple[str, str]]:
    """(action, resource as JSON text) pairs of the function's role."""
    out = []
    for statement in _statements(resources, function):
        targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        out += [(a, json.dumps(t)) for a in _actions(statement) for t in targets]
    return out


def test_each_function_has_its_own_role_log_group_and_name():
    resources = _packaged()
    roles = {f: resources[f]["Properties"]["Role"] for f in FUNCTIONS}
    assert len({json.dumps(r) for r in roles.values()}) == len(FUNCTIONS)
    for function, name in FUNCTIONS.items():
        role_id = roles[function]["Fn::GetAtt"][0]
        assert resources[role_id]["Type"] == "AWS::IAM::Role"
        principal = resources[role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
        assert principal == {"Service": "lambda.amazonaws.com"}
        slug = name.replace("_", "-")
        assert resources[function]["Properties"]["FunctionName"] == {"Fn::Sub": f"lfo-${{Stage}}-{slug}"}
        log_group = resources[f"{function}LogGroup"]["Properties"]
        assert log_group["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/lfo-${{Stage}}-{slug}"}
        assert log_group["KmsKeyId"] == {"Fn::GetAtt": ["OpsKey", "Arn"]}
        assert log_group["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        assert f"{function}LogGroup" in resources[function]["DependsOn"]
        # Its own log group only, and no logs:CreateLogGroup (the template creates it, with its retention).
        logs = [(a, r) for a, r in _grants(resources, function) if a.startswith("logs:")]
        assert logs and all(r == json.dumps({"Fn::GetAtt": [f"{function}LogGroup", "Arn"]}) for _, r in logs)
        assert "logs:CreateLogGroup" not in {a for a, _ in logs}
    assert not [k for k, r in resources.items() if r["Type"] == "AWS::IAM::Role" and k.startswith("ApiHandler")]


def test_only_the_outbox_may_publish_on_star():
    for function, name in FUNCTIONS.items():
        star_publish = ("sns:Publish", '"*"') in _grants(_packaged(), function)
        assert star_publish == (name in SMS_SENDERS), function
    for name, entry in IAM["functions"].items():  # also entries app.py does not declare
        granted = {sid for sid in entry["statements"] if IAM["statements"][sid]["Resource"] == "*"}
        assert granted == ({"DirectSms"} if name in SMS_SENDERS else set()), name


def test_the_internet_facing_role_cannot_send_or_write_secrets_or_decrypt():
    actions = {a for a, _ in _grants(_packaged(), "APIHandler")}
    assert not {a for a in actions if a.startswith("sns:")}
    assert "sqs:SendMessage" not in actions
    assert not {"secretsmanager:PutSecretValue", "secretsmanager:CreateSecret", "secretsmanager:UpdateSecret",
                "secretsmanager:DeleteSecret"} & actions
    assert {a for a in actions if a.startswith("kms:")} == {"kms:Encrypt"}
    assert "dynamodb:Scan" not in actions
    assert "secretsmanager:GetSecretValue" in actions


def test_the_api_deletes_scans_and_only_under_the_scans_prefix():
    grants = _grants(_packaged(), "APIHandler")
    scans = json.dumps({"Fn::Sub": "${DocumentsBucket.Arn}/citizen-scans/*"})
    support = json.dumps({"Fn::Sub": "${DocumentsBucket.Arn}/support-attachments/*"})
    assert ("s3:DeleteObject", scans) in grants
    assert {r for a, r in grants if a == "s3:DeleteObject"} == {scans}
    # Objects are read and written only under the two upload prefixes (ID scans, support-request attachments).
    assert {r for a, r in grants if a in ("s3:GetObject", "s3:PutObject", "s3:PutObjectTagging")} == {scans, support}


def test_consumers_and_jobs_get_what_their_code_calls():
    resources = _packaged()
    forward = _grants(resources, "ForwardReceipts")
    queue = json.dumps({"Fn::GetAtt": ["ForwardingQueue", "Arn"]})
    for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"):
        assert (action, queue) in forward
    assert ("sns:Publish", json.dumps({"Ref": "AlertsTopic"})) in forward
    assert ("kms:GenerateDataKey", json.dumps({"Fn::GetAtt": ["OpsKey", "Arn"]})) in forward  # CMK-encrypted topic
    sweep = _grants(resources, "SweepDeliveries")
    assert {a for a, _ in sweep if not a.startswith("logs:")} == {"dynamodb:Query", "dynamodb:UpdateItem",
                                                                   "sqs:SendMessage"}
    assert ("sqs:SendMessage", queue) in sweep
    outbox = _grants(resources, "DispatchOutbox")
    assert ("sqs:SendMessage", json.dumps({"Fn::GetAtt": ["OutboxDLQ", "Arn"]})) in outbox  # OnFailure destination
    assert ("dynamodb:GetRecords", json.dumps({"Fn::Sub": "${LedgerTable.Arn}/stream/*"})) in outbox
    assert ("kms:Decrypt", json.dumps({"Fn::GetAtt": ["AppKey", "Arn"]})) in outbox
    assert {"secretsmanager:CreateSecret", "secretsmanager:PutSecretValue"} <= {a for a, _ in outbox}
    # Intents are sealed under a key derived from the app secret; the sweep re-sends what the stream could not.
    assert ("secretsmanager:GetSecretValue", json.dumps({"Ref": "AppSecret"})) in outbox
    retry = {a for a, _ in _grants(resources, "SweepOutbox")}
    stream_only = {"dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:DescribeStream", "dynamodb:ListStreams"}
    assert {a for a, _ in outbox} - retry == stream_only


def test_no_wildcard_actions_and_every_grant_names_a_template_resource():
    resources = _packaged()
    for function in FUNCTIONS:
        for action, target in _grants(resources, function):
            assert "*" not in action, (function, action)
            refs = package._references(json.loads(target))
            assert refs <= set(resources) | set(package.process(fake_sam(), "prod")["Parameters"]) | {
                "AWS::Partition", "AWS::Region", "AWS::AccountId"}, (function, target)


def test_a_function_without_an_iam_entry_is_refused(tmp_path):
    sam = fake_sam()
    sam["Resources"]["ReconcileBanks"] = _function("app.reconcile_banks")
    with pytest.raises(package.PackageError, match="reconcile_banks.*infra/iam.json"):
        package.process(sam, "prod")
    result = run_cli(tmp_path, sam)
    assert result.returncode == 1 and "reconcile_banks" in result.stderr


def test_an_iam_entry_whose_function_is_not_declared_is_fine():
    resources = package.process(fake_sam(outbox=False), "prod")["Resources"]
    assert "DispatchOutboxRole" not in resources and "SweepOutboxRole" not in resources
    assert set(IAM["functions"]) >= SMS_SENDERS


def test_a_role_chalice_made_is_refused():
    sam = fake_sam()
    sam["Resources"]["APIHandler"]["Properties"]["Role"] = {"Fn::GetAtt": ["ApiHandlerRole", "Arn"]}
    with pytest.raises(package.PackageError, match="manage_iam_role"):
        package.process(sam, "prod")
    assert fake_sam()["Resources"]["APIHandler"]["Properties"]["Role"] == PLACEHOLDER_ROLE


def test_unknown_statement_names_are_refused(tmp_path):
    broken = json.loads(json.dumps(IAM))
    broken["functions"]["api"]["statements"].append("Typo")
    path = tmp_path / "iam.json"
    path.write_text(json.dumps(broken), encoding="utf-8")
    with pytest.raises(package.lambdas.IamError, match="Typo"):
        package.lambdas.load_iam(path)


def test_the_star_roles_carry_their_justified_checkov_skip():
    resources = _packaged()
    for role in ("DispatchOutboxRole", "SweepOutboxRole"):
        skips = resources[role].get("Metadata", {}).get("checkov", {}).get("skip", [])
        assert [s["id"] for s in skips] == ["CKV_AWS_111"]
    assert "Metadata" not in resources["APIHandlerRole"]


def test_the_support_clock_writes_its_alerts_as_intents_and_sends_nothing_itself():
    grants = _grants(_packaged(), "SupportClock")
    actions = {a for a, _ in grants if not a.startswith("logs:")}
    assert actions == {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem",
                       "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem", "secretsmanager:GetSecretValue"}
    assert not any(a.startswith(("sns:", "sqs:")) for a in actions)  # alerts go out through the outbox
