"""Create the cloud resources of infra/resources.json inside the embedded moto server.

The local stack and the integration tests deploy the very template production ships (through `chalice package
--merge-template`), so local and AWS cannot disagree about a key schema or a redrive policy. moto's CloudFormation
(moto 5.2.5) implements the core of it; what it lacks is handled here, on a local copy of the template, never by
changing what production gets:

* Resources that only exist after `chalice package` (anything referring to Chalice's `RestAPI`, i.e. the WAF
  association) are dropped: there is no API Gateway locally (`chalice local` serves the API).
* Resource types moto's CloudFormation cannot create. moto skips them with a warning, still reports
  CREATE_COMPLETE and silently drops the outputs that refer to them, so they are taken out of the stack and:
    - AWS::SecretsManager::Secret: created here with the Secrets Manager API, GenerateSecretString honoured
      (the local stack then overwrites the value with its documented dev values);
    - AWS::S3::BucketPolicy (deny requests without TLS): dropped. Applying it by PutBucketPolicy was tried:
      moto's S3 checks object requests against the bucket policy without any request context, so the
      `aws:SecureTransport` condition cannot hold and the Deny refuses every GetObject/PutObject (403);
    - AWS::WAFv2::WebACL: dropped. Its only use is the association with API Gateway, which does not exist locally;
    - AWS::Cognito::* (the user pool, its groups, clients, the portal's identity provider and its domain): created
      from the same template text by the cognito-idp API (`chalicelib.local.cognito_local`), outputs included.
    - AWS::CloudFront::* (infra/web.json): dropped, with what refers to them. Locally the API's port serves the
      built site with the same response headers (chalicelib/local/static_site.py).
* AWS::KMS::Key KeyPolicy: moto stores the policy as given and json.loads it on every KMS call, so a policy written
  as a JSON object (as CloudFormation takes it) breaks every call on the key; the local copy gets, as JSON text,
  the first statement of ours only (the account root may do everything; the service principals' statements have
  nothing to act on locally).
* AWS::CloudWatch::Alarm: not in moto's CloudFormation; created with PutMetricAlarm from the same properties.
* AWS::ApiGateway::Account: dropped (no API Gateway locally).
* Properties moto's CloudFormation ignores, applied here after the stack is created:
    - AWS::DynamoDB::Table PointInTimeRecoverySpecification -> UpdateContinuousBackups,
      TimeToLiveSpecification -> UpdateTimeToLive;
    - AWS::DynamoDB::Table SSESpecification: moto keeps the CloudFormation spelling (`SSEEnabled`) but reports
      encryption only for the API spelling (`Enabled`), and its UpdateTable ignores SSE; so the local copy gets
      `Enabled` added before the stack is created;
    - AWS::S3::Bucket PublicAccessBlockConfiguration, VersioningConfiguration, OwnershipControls,
      LifecycleConfiguration and CorsConfiguration -> the matching Put* calls (moto applies only BucketEncryption
      and Tags). The CORS rule's origin is the SiteOrigin parameter, which the local stack sets to its own site
      origin; moto's server then answers browsers by that rule (chalicelib.local.moto._BucketCors).
* Not reproducible in moto at all, so nothing is done: SQS RedriveAllowPolicy (moto's SQS has no such attribute;
  GetQueueAttributes rejects the name) and StartMessageMoveTask (not implemented).

Example::

    outputs = deploy_local_stack({"endpoint_url": "http://127.0.0.1:5000", "region_name": "ap-southeast-1",
                                  "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}, "dev")
    os.environ.update(env_from_outputs(outputs))
"""
from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from chalicelib.local.fixups import LocalStackError, _apply_ignored_properties, _create_by_api
from chalicelib.local.template import TEMPLATE_PATH, _references, _Resolver

__all__ = ["OUTPUT_ENV", "TEMPLATE_PATH", "LocalStackError", "deploy_local_stack", "env_from_outputs",
           "local_template"]


# Logical ids that exist only in the `chalice package` output.
PACKAGE_ONLY_IDS = frozenset({"RestAPI"})

# Types moto 5.2.5's CloudFormation cannot create, and what happens to them locally.
CREATED_BY_API = frozenset({"AWS::SecretsManager::Secret", "AWS::CloudWatch::Alarm"})
DROPPED_LOCALLY = frozenset({
    "AWS::S3::BucketPolicy", "AWS::WAFv2::WebACL", "AWS::WAFv2::WebACLAssociation", "AWS::ApiGateway::Account",
    # infra/web.json: no CloudFront locally; the local API port serves the built site itself
    "AWS::CloudFront::Distribution", "AWS::CloudFront::OriginAccessControl", "AWS::CloudFront::ResponseHeadersPolicy",
})

# Stack output -> environment variable read by chalicelib.config.
OUTPUT_ENV = {
    "DossiersTableName": "DOSSIERS_TABLE",
    "LedgerTableName": "LEDGER_TABLE",
    "DirectoryTableName": "DIRECTORY_TABLE",
    "ForwardingQueueUrl": "FORWARDING_QUEUE_URL",
    "ForwardingDLQUrl": "FORWARDING_DLQ_URL",
    "SelfTestQueueUrl": "SELFTEST_QUEUE_URL",
    "AlertsTopicArn": "ALERTS_TOPIC_ARN",
    "AlertEmailsTopicArn": "ALERT_EMAILS_TOPIC_ARN",
    "DocumentsBucketName": "DOCUMENTS_BUCKET",
    "AppSecretName": "APP_SECRET_NAME",
    "ReceiptSigningSecretName": "RECEIPT_SIGNING_SECRET_NAME",
    "UserPoolId": "COGNITO_USER_POOL_ID",
    "CitizenClientId": "COGNITO_CITIZEN_CLIENT_ID",
    "StaffClientId": "COGNITO_STAFF_CLIENT_ID",
}

_DONE = {"CREATE_COMPLETE", "UPDATE_COMPLETE"}
_LOCAL_KEY_POLICY = {"Fn::Sub": json.dumps({"Version": "2012-10-17", "Statement": [{
    "Sid": "AccountRoot", "Effect": "Allow", "Principal": {"AWS": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"},
    "Action": "kms:*", "Resource": "*"}]})}


def deploy_local_stack(
    session_kwargs: dict,
    stage: str,
    template_path: Path | None = None,
    *,
    stack_name: str | None = None,
    timeout_s: float = 60.0,
    parameters: dict[str, str] | None = None,
) -> dict[str, str]:
    """Deploy infra/resources.json into the moto server that `session_kwargs` point at; return the stack outputs.

    `session_kwargs` are boto3 client kwargs (endpoint_url, region_name, aws_access_key_id, aws_secret_access_key).
    Idempotent: if the stack already exists it is reused and the local fix-ups are re-applied. `parameters`: template
    parameters besides Stage (e.g. SiteOrigin), used when the stack is created.
    """
    from chalicelib.local.cognito_local import deploy_cognito, strip_cognito

    template = json.loads(Path(template_path or TEMPLATE_PATH).read_text(encoding="utf-8"))
    stack_name = stack_name or f"lfo-{stage}"
    clients = _Clients(session_kwargs)
    cfn = clients("cloudformation")

    stack_template, deferred = local_template(strip_cognito(template))
    stack = _existing_stack(cfn, stack_name)
    if stack is None:
        cfn.create_stack(StackName=stack_name, TemplateBody=json.dumps(stack_template),
                         Parameters=[{"ParameterKey": k, "ParameterValue": v}
                                     for k, v in {"Stage": stage, **(parameters or {})}.items()])
        stack = _wait_for_stack(cfn, stack_name, timeout_s)

    resolver = _Resolver(template, stack, cfn.describe_stack_resources(StackName=stack_name)["StackResources"])
    _apply_ignored_properties(clients, template, resolver)
    for logical_id, resource in deferred.items():
        resolver.physical[logical_id] = _create_by_api(clients, resource, resolver)

    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    outputs.update(deploy_cognito(session_kwargs, stage, template, stack_name=stack_name))
    for key, output in template.get("Outputs", {}).items():
        if key not in outputs and resolver.can_resolve(output["Value"]):
            outputs[key] = str(resolver.resolve(output["Value"]))
    return outputs


def env_from_outputs(outputs: dict[str, str]) -> dict[str, str]:
    """Map stack outputs to the environment variables the app reads (see chalicelib.config)."""
    missing = sorted(set(OUTPUT_ENV) - set(outputs))
    if missing:
        raise KeyError(f"stack outputs missing: {', '.join(missing)}")
    return {env: outputs[key] for key, env in OUTPUT_ENV.items()}


def local_template(template: dict[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Split the template into what moto's CloudFormation can create and what is created by API afterwards.

    Returns (stack template, {logical id: resource} to create by API). Dropped resources take the resources and
    outputs that refer to them along.
    """
    local = copy.deepcopy(template)
    resources: dict[str, Any] = local["Resources"]
    removed = set(PACKAGE_ONLY_IDS)
    changed = True
    while changed:  # drop package-only and locally useless resources, and whatever refers to them
        changed = False
        for logical_id, resource in list(resources.items()):
            if resource["Type"] in DROPPED_LOCALLY or _references(resource) & removed:
                resources.pop(logical_id)
                removed.add(logical_id)
                changed = True
    deferred = {
        logical_id: resources.pop(logical_id)
        for logical_id, resource in list(resources.items())
        if resource["Type"] in CREATED_BY_API
    }
    for logical_id, resource in resources.items():
        if _references(resource) & set(deferred):
            raise LocalStackError(f"{logical_id} refers to a resource moto cannot create: {sorted(deferred)}")
    gone = removed | set(deferred)
    local["Outputs"] = {k: v for k, v in local.get("Outputs", {}).items() if not _references(v) & gone}
    for resource in resources.values():
        sse = resource.get("Properties", {}).get("SSESpecification")
        if resource["Type"] == "AWS::DynamoDB::Table" and isinstance(sse, dict) and "SSEEnabled" in sse:
            sse["Enabled"] = sse["SSEEnabled"]  # moto reads the API spelling; see the module docstring
        if resource["Type"] == "AWS::KMS::Key":
            resource["Properties"]["KeyPolicy"] = _LOCAL_KEY_POLICY  # a string for moto; see the module docstring
    return local, deferred


class _Clients:
    def __init__(self, session_kwargs: dict) -> None:
        self._kwargs = dict(session_kwargs)
        self._session = boto3.session.Session()
        self._cache: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        if service not in self._cache:
            self._cache[service] = self._session.client(service, **self._kwargs)
        return self._cache[service]


def _existing_stack(cfn: Any, stack_name: str) -> dict[str, Any] | None:
    try:
        stacks = cfn.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise
    stack = stacks[0]
    if stack["StackStatus"] not in _DONE:
        raise LocalStackError(f"stack {stack_name} exists in state {stack['StackStatus']}")
    return stack


def _wait_for_stack(cfn: Any, stack_name: str, timeout_s: float) -> dict[str, Any]:
    """Poll until CREATE_COMPLETE (moto creates synchronously, but do not rely on it); fail on anything else."""
    deadline = time.monotonic() + timeout_s
    while True:
        stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
        status = stack["StackStatus"]
        if status in _DONE:
            return stack
        if status.endswith("FAILED") or "ROLLBACK" in status:
            raise LocalStackError(f"stack {stack_name}: {status} {stack.get('StackStatusReason', '')}")
        if time.monotonic() > deadline:
            raise LocalStackError(f"stack {stack_name} still {status} after {timeout_s:.0f} s")
        time.sleep(0.2)
