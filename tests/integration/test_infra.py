"""infra/resources.json deployed into a real moto server over HTTP, as the local stack does it.

Proves that the one template production ships gives local and tests the same tables, indexes, TTL, backups, queue
redrive, bucket protection, topic and secret, including what moto's CloudFormation ignores and
chalicelib/local/resources.py applies by API.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from chalicelib.local.resources import OUTPUT_ENV, TEMPLATE_PATH, deploy_local_stack, env_from_outputs, local_template

# Not "dev"/"test": moto servers in one process share their backends, and the e2e stack uses stage "test".
STAGE = "infratest"
REGION = "ap-southeast-1"


@pytest.fixture(scope="module")
def moto_kwargs():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield {
        "endpoint_url": f"http://{host}:{port}",
        "region_name": REGION,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    server.stop()


@pytest.fixture(scope="module")
def deployed(moto_kwargs):
    started = time.perf_counter()
    outputs = deploy_local_stack(moto_kwargs, STAGE)
    return outputs, time.perf_counter() - started


@pytest.fixture(scope="module")
def outputs(deployed):
    return deployed[0]


def client(kwargs, service):
    return boto3.session.Session().client(service, **kwargs)


def test_deploys_quickly_with_every_output(deployed):
    outputs, seconds = deployed
    assert seconds < 30
    assert set(OUTPUT_ENV) | {"ForwardingQueueArn", "ForwardingDLQArn", "AppSecretArn"} <= set(outputs)
    assert outputs["DossiersTableName"] == f"lfo-{STAGE}-dossiers"
    assert outputs["DocumentsBucketName"] == f"lfo-{STAGE}-documents-123456789012"
    assert outputs["AppSecretName"] == f"lfo/{STAGE}/app-secrets"


def test_env_from_outputs_names_what_config_reads(outputs):
    env = env_from_outputs(outputs)
    assert env["LEDGER_TABLE"] == f"lfo-{STAGE}-ledger"
    assert env["FORWARDING_QUEUE_URL"].endswith(f"/lfo-{STAGE}-forwarding")
    assert env["FORWARDING_DLQ_URL"].endswith(f"/lfo-{STAGE}-forwarding-dlq")
    assert env["APP_SECRET_NAME"] == f"lfo/{STAGE}/app-secrets"
    with pytest.raises(KeyError, match="AlertsTopicArn"):
        env_from_outputs({k: v for k, v in outputs.items() if k != "AlertsTopicArn"})


def test_dossiers_table_keyed_by_dossier_code(moto_kwargs, outputs):
    ddb = client(moto_kwargs, "dynamodb")
    table = ddb.describe_table(TableName=outputs["DossiersTableName"])["Table"]
    assert table["KeySchema"] == [{"AttributeName": "dossier_code", "KeyType": "HASH"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["SSEDescription"]["Status"] == "ENABLED"
    assert table["DeletionProtectionEnabled"] is False  # prod only


@pytest.mark.parametrize("output", ["LedgerTableName", "DirectoryTableName"])
def test_ledger_and_directory_keys_gsi_ttl(moto_kwargs, outputs, output):
    ddb = client(moto_kwargs, "dynamodb")
    name = outputs[output]
    table = ddb.describe_table(TableName=name)["Table"]
    assert table["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    indexes = {gsi["IndexName"]: gsi for gsi in table["GlobalSecondaryIndexes"]}
    # The ledger also has gsi2: the sparse index of live payments by due time (stale-payment resolution).
    # gsi3: the sparse settlement-day index of PAID payments, projecting what matching reads.
    assert set(indexes) == ({"gsi1", "gsi2", "gsi3"} if output == "LedgerTableName" else {"gsi1"})
    for index, gsi in indexes.items():
        assert gsi["KeySchema"] == [
            {"AttributeName": f"{index}pk", "KeyType": "HASH"},
            {"AttributeName": f"{index}sk", "KeyType": "RANGE"},
        ]
        assert gsi["Projection"]["ProjectionType"] == ("INCLUDE" if index == "gsi3" else "ALL")
    assert table["SSEDescription"]["Status"] == "ENABLED"
    ttl = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "ttl"}


def test_ledger_day_index_is_sparse_and_projects_only_what_matching_reads(moto_kwargs, outputs):
    from chalicelib.aws.tables import DAY_INDEX_ATTRIBUTES

    table = client(moto_kwargs, "dynamodb").describe_table(TableName=outputs["LedgerTableName"])["Table"]
    gsi = next(g for g in table["GlobalSecondaryIndexes"] if g["IndexName"] == "gsi3")
    assert gsi["KeySchema"] == [{"AttributeName": "gsi3pk", "KeyType": "HASH"},
                                {"AttributeName": "gsi3sk", "KeyType": "RANGE"}]
    assert gsi["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": DAY_INDEX_ATTRIBUTES}


@pytest.mark.parametrize("output", ["DossiersTableName", "LedgerTableName", "DirectoryTableName"])
def test_point_in_time_recovery_enabled(moto_kwargs, outputs, output):
    backups = client(moto_kwargs, "dynamodb").describe_continuous_backups(TableName=outputs[output])
    pitr = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"


def test_forwarding_queue_redrives_to_dlq_after_the_last_scheduled_attempt(moto_kwargs, outputs):
    from chalicelib.provinces.domain.delivery import MAX_ATTEMPTS

    sqs = client(moto_kwargs, "sqs")
    attrs = sqs.get_queue_attributes(QueueUrl=outputs["ForwardingQueueUrl"], AttributeNames=["All"])["Attributes"]
    assert MAX_ATTEMPTS == 17
    assert json.loads(attrs["RedrivePolicy"]) == {
        "deadLetterTargetArn": outputs["ForwardingDLQArn"],
        "maxReceiveCount": MAX_ATTEMPTS,
    }
    assert attrs["VisibilityTimeout"] == "120"
    assert attrs["MessageRetentionPeriod"] == "1209600"
    assert attrs["SqsManagedSseEnabled"] == "true"
    dlq = sqs.get_queue_attributes(QueueUrl=outputs["ForwardingDLQUrl"], AttributeNames=["All"])["Attributes"]
    assert dlq["MessageRetentionPeriod"] == "1209600"
    assert dlq["QueueArn"] == outputs["ForwardingDLQArn"]


def test_selftest_queue_outlives_its_consumer_and_gives_up_after_three_runs(moto_kwargs, outputs):
    sqs = client(moto_kwargs, "sqs")
    attrs = sqs.get_queue_attributes(QueueUrl=outputs["SelfTestQueueUrl"], AttributeNames=["All"])["Attributes"]
    assert attrs["QueueArn"] == outputs["SelfTestQueueArn"] and attrs["SqsManagedSseEnabled"] == "true"
    policy = json.loads(attrs["RedrivePolicy"])
    assert policy["maxReceiveCount"] == 3 and policy["deadLetterTargetArn"].endswith(f":lfo-{STAGE}-selftests-dlq")
    config = json.loads((Path(__file__).resolve().parents[2] / ".chalice" / "config.json").read_text())
    timeout = config["stages"]["prod"]["lambda_functions"]["run_selftests"]["lambda_timeout"]
    assert int(attrs["VisibilityTimeout"]) > timeout
    assert env_from_outputs(outputs)["SELFTEST_QUEUE_URL"] == outputs["SelfTestQueueUrl"]


def test_queue_urls_from_outputs_work_against_moto(moto_kwargs, outputs):
    sqs = client(moto_kwargs, "sqs")
    sqs.send_message(QueueUrl=outputs["ForwardingQueueUrl"], MessageBody="ping")
    (message,) = sqs.receive_message(QueueUrl=outputs["ForwardingQueueUrl"])["Messages"]
    sqs.delete_message(QueueUrl=outputs["ForwardingQueueUrl"], ReceiptHandle=message["ReceiptHandle"])
    assert message["Body"] == "ping"


def test_bucket_private_encrypted_versioned(moto_kwargs, outputs):
    s3 = client(moto_kwargs, "s3")
    bucket = outputs["DocumentsBucketName"]
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    # The local stack reads and writes receipts over plain HTTP: nothing local may refuse it.
    s3.put_object(Bucket=bucket, Key="probe.pdf", Body=b"%PDF-")
    assert s3.get_object(Bucket=bucket, Key="probe.pdf")["Body"].read() == b"%PDF-"


def test_tls_only_bucket_policy_is_in_the_template_but_not_local():
    template = json.loads(Path(TEMPLATE_PATH).read_text(encoding="utf-8"))
    (statement,) = template["Resources"]["DocumentsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    stack_template, deferred = local_template(template)
    assert "DocumentsBucketPolicy" not in stack_template["Resources"]
    assert "AccessLogsBucketPolicy" not in stack_template["Resources"]
    alarms = {k for k, r in template["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert set(deferred) == {"AppSecret", "ReceiptSigningSecret"} | alarms


def test_secret_exists_with_generated_hash_key(moto_kwargs, outputs):
    sm = client(moto_kwargs, "secretsmanager")
    described = sm.describe_secret(SecretId=outputs["AppSecretName"])
    assert described["ARN"] == outputs["AppSecretArn"]
    value = json.loads(sm.get_secret_value(SecretId=outputs["AppSecretName"])["SecretString"])
    assert len(value["id_hash_key"]) == 64
    assert {"partners", "banks", "vnpay_hash_secret"} <= set(value)


def test_alerts_topic_exists_encrypted(moto_kwargs, outputs):
    attrs = client(moto_kwargs, "sns").get_topic_attributes(TopicArn=outputs["AlertsTopicArn"])["Attributes"]
    assert attrs["TopicArn"].endswith(f":lfo-{STAGE}-alerts")
    # A customer managed key: CloudWatch alarms cannot publish to a topic encrypted with aws/sns.
    key = client(moto_kwargs, "kms").describe_key(KeyId=attrs["KmsMasterKeyId"])["KeyMetadata"]
    assert key["KeyManager"] == "CUSTOMER"
    emails = client(moto_kwargs, "sns").get_topic_attributes(TopicArn=outputs["AlertEmailsTopicArn"])["Attributes"]
    assert emails["TopicArn"].endswith(f":lfo-{STAGE}-alert-emails")
    assert emails["KmsMasterKeyId"] == "alias/aws/sns"


def test_package_only_and_waf_resources_are_left_out_locally():
    stack_template, _ = local_template(json.loads(Path(TEMPLATE_PATH).read_text(encoding="utf-8")))
    assert "CitizenWebAclAssociation" not in stack_template["Resources"]
    assert "CitizenWebAcl" not in stack_template["Resources"]
    assert "ApiGatewayAccount" not in stack_template["Resources"]
    assert "CitizenWebAclArn" not in stack_template["Outputs"]
    assert "AppSecretArn" not in stack_template["Outputs"]


def test_redeploy_reuses_the_stack_and_keeps_secret_values(moto_kwargs, outputs):
    sm = client(moto_kwargs, "secretsmanager")
    sm.put_secret_value(SecretId=outputs["AppSecretName"], SecretString='{"id_hash_key": "dev"}')
    again = deploy_local_stack(moto_kwargs, STAGE)
    assert again == outputs
    assert sm.get_secret_value(SecretId=outputs["AppSecretName"])["SecretString"] == '{"id_hash_key": "dev"}'


def test_only_prod_tables_have_deletion_protection(moto_kwargs, outputs):
    prod = deploy_local_stack(moto_kwargs, "prod", stack_name="lfo-prod-infra-test")
    ddb = client(moto_kwargs, "dynamodb")
    for output in ("DossiersTableName", "LedgerTableName", "DirectoryTableName"):
        assert ddb.describe_table(TableName=prod[output])["Table"]["DeletionProtectionEnabled"] is True
        assert ddb.describe_table(TableName=outputs[output])["Table"]["DeletionProtectionEnabled"] is False


def test_ledger_table_streams_new_images_for_the_outbox(moto_kwargs, outputs):
    table = client(moto_kwargs, "dynamodb").describe_table(TableName=outputs["LedgerTableName"])["Table"]
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    assert table["LatestStreamArn"] == outputs["LedgerStreamArn"]
    for output in ("DossiersTableName", "DirectoryTableName"):
        other = client(moto_kwargs, "dynamodb").describe_table(TableName=outputs[output])["Table"]
        assert "LatestStreamArn" not in other


def test_app_key_rotates_and_round_trips_through_its_alias(moto_kwargs, outputs):
    kms = client(moto_kwargs, "kms")
    assert outputs["AppKeyAlias"] == f"alias/lfo-{STAGE}-app"
    key_id = kms.describe_key(KeyId=outputs["AppKeyAlias"])["KeyMetadata"]["KeyId"]
    assert outputs["AppKeyArn"].endswith(f":key/{key_id}")
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True
    blob = kms.encrypt(KeyId=outputs["AppKeyAlias"], Plaintext=b"province credentials")["CiphertextBlob"]
    assert blob != b"province credentials"
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"province credentials"


def test_scan_lifecycle_expires_abandoned_uploads_and_purges_deleted_scans(moto_kwargs, outputs):
    rules = client(moto_kwargs, "s3").get_bucket_lifecycle_configuration(Bucket=outputs["DocumentsBucketName"])["Rules"]
    by_id = {rule["ID"]: rule for rule in rules}
    abandoned = by_id["expire-abandoned-scans"]
    assert abandoned["Filter"] == {"And": {"Prefix": "citizen-scans/", "Tags": [{"Key": "lfo-scan", "Value": "pending"}]}}
    assert abandoned["Expiration"] == {"Days": 1}
    deleted = by_id["purge-deleted-scans"]
    assert deleted["Filter"] == {"Prefix": "citizen-scans/"}
    assert deleted["NoncurrentVersionExpiration"]["NoncurrentDays"] == 1
    assert deleted["Expiration"] == {"ExpiredObjectDeleteMarker": True}
    assert by_id["expire-old-versions-and-uploads"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 365
    assert all(rule["Status"] == "Enabled" for rule in rules)


def test_documents_bucket_lets_the_site_origin_read_upload_answers_only(moto_kwargs, outputs):
    rules = client(moto_kwargs, "s3").get_bucket_cors(Bucket=outputs["DocumentsBucketName"])["CORSRules"]
    assert rules == [{"ID": "site-uploads", "AllowedMethods": ["POST"], "AllowedOrigins": ["https://dichvucong.gov.vn"],
                      "MaxAgeSeconds": 600}]


def test_alarms_reach_the_operators_topic(moto_kwargs, outputs):
    alarms = client(moto_kwargs, "cloudwatch").describe_alarms(AlarmNamePrefix=f"lfo-{STAGE}-")["MetricAlarms"]
    by_name = {alarm["AlarmName"]: alarm for alarm in alarms}
    assert set(by_name) == {f"lfo-{STAGE}-{name}" for name in (
        "forwarding-dlq-depth", "outbox-dlq-depth", "forwarding-oldest-message", "api-5xx-rate",
        "selftests-dlq-depth")}
    for alarm in alarms:
        assert alarm["AlarmActions"] == [outputs["AlertsTopicArn"]]
        assert alarm["OKActions"] == [outputs["AlertsTopicArn"]]
    dlq = by_name[f"lfo-{STAGE}-forwarding-dlq-depth"]
    assert dlq["Dimensions"] == [{"Name": "QueueName", "Value": f"lfo-{STAGE}-forwarding-dlq"}]
    assert (dlq["MetricName"], dlq["Threshold"], dlq["ComparisonOperator"]) == (
        "ApproximateNumberOfMessagesVisible", 0.0, "GreaterThanThreshold")
    age = by_name[f"lfo-{STAGE}-forwarding-oldest-message"]
    assert (age["MetricName"], age["Threshold"]) == ("ApproximateAgeOfOldestMessage", 3600.0)
    selftests = by_name[f"lfo-{STAGE}-selftests-dlq-depth"]
    assert selftests["Dimensions"] == [{"Name": "QueueName", "Value": f"lfo-{STAGE}-selftests-dlq"}]
    api = by_name[f"lfo-{STAGE}-api-5xx-rate"]
    assert (api["Namespace"], api["MetricName"], api["Statistic"], api["Threshold"]) == (
        "AWS/ApiGateway", "5XXError", "Average", 0.05)


def test_outbox_dlq_and_api_access_log_group_exist(moto_kwargs, outputs):
    attrs = client(moto_kwargs, "sqs").get_queue_attributes(QueueUrl=outputs["OutboxDLQUrl"],
                                                            AttributeNames=["All"])["Attributes"]
    assert attrs["QueueArn"].endswith(f":lfo-{STAGE}-outbox-dlq")
    assert attrs["MessageRetentionPeriod"] == "1209600"
    groups = client(moto_kwargs, "logs").describe_log_groups(
        logGroupNamePrefix=f"/aws/apigateway/lfo-{STAGE}-api-access")["logGroups"]
    (group,) = groups
    assert group["retentionInDays"] == 365
