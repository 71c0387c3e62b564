"""What moto's CloudFormation ignores or cannot create, applied by API after the stack is up, from the same
template properties (so the local tables, buckets and secrets still match what AWS builds)."""
from __future__ import annotations

import json
import warnings
from typing import TYPE_CHECKING, Any


class LocalStackError(RuntimeError):
    """The template could not be deployed into the moto server."""


if TYPE_CHECKING:
    from chalicelib.local.resources import _Clients, _Resolver

_NO_VALUE = object()


def _apply_ignored_properties(clients: _Clients, template: dict[str, Any], resolver: _Resolver) -> None:
    """Apply, by API, the properties moto's CloudFormation accepts but ignores (see the module docstring)."""
    for logical_id, resource in template["Resources"].items():
        if logical_id not in resolver.physical:
            continue
        props = resolver.resolve(resource.get("Properties", {}))
        physical = resolver.physical[logical_id]
        if resource["Type"] == "AWS::DynamoDB::Table":
            _apply_table_properties(clients("dynamodb"), physical, props)
        elif resource["Type"] == "AWS::S3::Bucket":
            _apply_bucket_properties(clients("s3"), physical, props)


def _apply_table_properties(ddb: Any, table: str, props: dict[str, Any]) -> None:
    pitr = props.get("PointInTimeRecoverySpecification")
    if pitr:
        ddb.update_continuous_backups(TableName=table, PointInTimeRecoverySpecification=pitr)
    ttl = props.get("TimeToLiveSpecification")
    if ttl:
        current = ddb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
        wanted = "ENABLED" if ttl.get("Enabled") else "DISABLED"
        if current.get("TimeToLiveStatus") != wanted or current.get("AttributeName") != ttl["AttributeName"]:
            ddb.update_time_to_live(TableName=table, TimeToLiveSpecification=ttl)


def _apply_bucket_properties(s3: Any, bucket: str, props: dict[str, Any]) -> None:
    if "PublicAccessBlockConfiguration" in props:
        s3.put_public_access_block(
            Bucket=bucket, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"]
        )
    if "VersioningConfiguration" in props:
        s3.put_bucket_versioning(
            Bucket=bucket, VersioningConfiguration={"Status": props["VersioningConfiguration"]["Status"]}
        )
    if "OwnershipControls" in props:
        s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls=props["OwnershipControls"])
    if "LifecycleConfiguration" in props:
        rules = [_lifecycle_rule(rule) for rule in props["LifecycleConfiguration"]["Rules"]]
        s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})
    if "CorsConfiguration" in props:
        cors = [_cors_rule(rule) for rule in props["CorsConfiguration"]["CorsRules"]]
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": cors})


_CORS_KEYS = {"Id": "ID", "AllowedMethods": "AllowedMethods", "AllowedOrigins": "AllowedOrigins",
              "AllowedHeaders": "AllowedHeaders", "ExposedHeaders": "ExposeHeaders", "MaxAge": "MaxAgeSeconds"}


def _cors_rule(cfn_rule: dict[str, Any]) -> dict[str, Any]:
    """A CloudFormation CorsRule in the PutBucketCors spelling."""
    return {_CORS_KEYS[k]: v for k, v in cfn_rule.items()}


def _lifecycle_rule(cfn_rule: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation's lifecycle rule shape -> the S3 API's (the subset this project uses)."""
    prefix = cfn_rule.get("Prefix", "")
    tags = cfn_rule.get("TagFilters", [])
    rule: dict[str, Any] = {"Status": cfn_rule["Status"],
                            "Filter": {"And": {"Prefix": prefix, "Tags": tags}} if tags else {"Prefix": prefix}}
    same_shape = ("AbortIncompleteMultipartUpload", "Expiration")
    for key, value in cfn_rule.items():
        if key == "Id":
            rule["ID"] = value
        elif key == "ExpirationInDays":
            rule["Expiration"] = {"Days": int(value)}
        elif key == "ExpiredObjectDeleteMarker":
            rule["Expiration"] = {"ExpiredObjectDeleteMarker": bool(value)}
        elif key == "NoncurrentVersionExpirationInDays":
            rule["NoncurrentVersionExpiration"] = {"NoncurrentDays": int(value)}
        elif key == "NoncurrentVersionExpiration":
            rule[key] = {"NoncurrentDays": int(value["NoncurrentDays"])}
        elif key in same_shape:
            rule[key] = value
        elif key not in ("Status", "Prefix", "TagFilters"):
            warnings.warn(f"lifecycle rule property {key} is not applied in the local stack", stacklevel=2)
    return rule


def _create_by_api(clients: _Clients, resource: dict[str, Any], resolver: _Resolver) -> str:
    """Create a resource moto's CloudFormation cannot; return what its Ref would be."""
    props = resolver.resolve(resource.get("Properties", {}))
    if resource["Type"] == "AWS::SecretsManager::Secret":
        return _create_secret(clients("secretsmanager"), props)
    if resource["Type"] == "AWS::CloudWatch::Alarm":
        return _create_alarm(clients("cloudwatch"), props)
    raise LocalStackError(f"no local implementation for {resource['Type']}")


def _create_secret(sm: Any, props: dict[str, Any]) -> str:
    """CreateSecret, honouring GenerateSecretString; an existing secret (and its dev values) is left alone."""
    name = props["Name"]
    try:
        return sm.describe_secret(SecretId=name)["ARN"]
    except sm.exceptions.ResourceNotFoundException:
        pass
    value = props.get("SecretString")
    generate = props.get("GenerateSecretString")
    if value is None and generate is not None:
        options = {k: v for k, v in generate.items() if k not in ("SecretStringTemplate", "GenerateStringKey")}
        password = sm.get_random_password(**options)["RandomPassword"]
        if "SecretStringTemplate" in generate:
            document = json.loads(generate["SecretStringTemplate"])
            document[generate["GenerateStringKey"]] = password
            value = json.dumps(document)
        else:
            value = password
    extra = {k: props[k] for k in ("Description", "KmsKeyId", "Tags") if k in props}
    return sm.create_secret(Name=name, SecretString=value or "", **extra)["ARN"]


_ALARM_PROPERTIES = ("AlarmName", "AlarmDescription", "Namespace", "MetricName", "Dimensions", "Statistic", "Period",
                     "EvaluationPeriods", "DatapointsToAlarm", "Threshold", "ComparisonOperator", "TreatMissingData",
                     "AlarmActions", "OKActions")


def _create_alarm(cloudwatch: Any, props: dict[str, Any]) -> str:
    """PutMetricAlarm (an upsert) with the template's properties; the alarm's Ref is its name."""
    unknown = sorted(set(props) - set(_ALARM_PROPERTIES))
    if unknown:
        raise LocalStackError(f"alarm properties without a local implementation: {unknown}")
    args = dict(props)
    for key in ("Period", "EvaluationPeriods", "DatapointsToAlarm"):
        if key in args:
            args[key] = int(args[key])
    args["Threshold"] = float(args["Threshold"])
    args["Dimensions"] = [{"Name": d["Name"], "Value": str(d["Value"])} for d in args.get("Dimensions", [])]
    cloudwatch.put_metric_alarm(**args)
    return args["AlarmName"]
