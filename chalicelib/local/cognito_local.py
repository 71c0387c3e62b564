"""Create the template's Cognito user pool (pool, groups, identity provider, domain, app clients) in the embedded
moto server, from the very CloudFormation text production deploys.

moto 5.2.5's CloudFormation implements none of AWS::Cognito::UserPool, UserPoolClient, UserPoolGroup,
UserPoolDomain or UserPoolIdentityProvider: it skips them with a warning, still reports CREATE_COMPLETE, drops the
outputs that refer to them, and DescribeStackResources then lists entries without a LogicalResourceId. So the
Cognito resources are taken out of the local stack (:func:`strip_cognito`) and created here by the cognito-idp API,
whose parameters have the same names as the CloudFormation properties except:

* UserPool ``UserPoolName`` is the API's ``PoolName``;
* UserPool ``EnabledMfas`` is not a CreateUserPool parameter: it becomes SetUserPoolMfaConfig (software tokens).

Conditions, Fn::If / Fn::Sub / Ref and AWS::NoValue are evaluated as CloudFormation would (the resolver of
``chalicelib.local.resources``), so a resource under a false condition (the portal's identity provider until
operations configure it) is not created locally either.

The local pool is the same configuration, not the same enforcement. moto 5.2.5 enforces the password policy's
length and character classes (not on AdminCreateUser's temporary password, and it refuses passwords of 99+
characters), admin_only recovery, disabled users at sign-in, single-use challenge sessions and refresh-token
revocation by global sign-out. It stores but ignores deletion protection, token lifetimes (every token lasts 3600 s,
refresh tokens never expire), explicit auth flows, WriteAttributes, Mutable=false, case-insensitive usernames,
password history, MFA and threat protection; it signs every pool's tokens with one key (kid "dummy") published in
its package. Pinned by tests/integration/test_cognito_moto.py.

Example::

    outputs = deploy_cognito({"endpoint_url": "http://127.0.0.1:5000", "region_name": "ap-southeast-1",
                              "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}, "dev")
    outputs["UserPoolId"], outputs["CitizenClientId"], outputs["StaffClientId"]
"""
from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Callable
from typing import Any

from chalicelib.local.fixups import LocalStackError
from chalicelib.local.template import TEMPLATE_PATH, _references, _Resolver, merge_fragment

__all__ = ["deploy_cognito", "default_template", "merge_fragment", "seed_user", "strip_cognito"]

COGNITO_PREFIX = "AWS::Cognito::"


def default_template() -> dict[str, Any]:
    """infra/resources.json, which holds the user pool with everything else."""
    return json.loads(TEMPLATE_PATH.read_text(encoding="utf-8"))


def strip_cognito(template: dict[str, Any]) -> dict[str, Any]:
    """A copy without the Cognito resources and the outputs that refer to them: what moto's CloudFormation gets."""
    local = copy.deepcopy(template)
    gone = {k for k, r in local["Resources"].items() if r["Type"].startswith(COGNITO_PREFIX)}
    for logical_id in gone:
        local["Resources"].pop(logical_id)
    for logical_id, resource in local["Resources"].items():
        if _references(resource) & gone:
            raise LocalStackError(f"{logical_id} refers to Cognito resources created outside the stack")
    local["Outputs"] = {k: v for k, v in local.get("Outputs", {}).items() if not _references(v) & gone}
    return local


def deploy_cognito(session_kwargs: dict, stage: str, template: dict[str, Any] | None = None, *,
                   parameters: dict[str, str] | None = None, stack_name: str | None = None) -> dict[str, str]:
    """Create the template's Cognito resources in the moto server ``session_kwargs`` point at (boto3 client kwargs);
    return the template's outputs that depend on them (UserPoolId, CitizenClientId, StaffClientId ...).

    Idempotent: a pool with the same name is reused, and so are its clients (by name), groups, provider, domain.
    """
    import boto3

    template = template if template is not None else default_template()
    session = boto3.session.Session()
    idp = session.client("cognito-idp", **session_kwargs)
    account = session.client("sts", **session_kwargs).get_caller_identity()["Account"]
    name = stack_name or f"lfo-{stage}"
    stack = {"StackId": f"arn:aws:cloudformation:{session_kwargs['region_name']}:{account}:stack/{name}/local",
             "StackName": name,
             "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in {"Stage": stage,
                                                                                  **(parameters or {})}.items()]}
    resolver = _CognitoResolver(template, stack, [])
    cognito = {k: r for k, r in template["Resources"].items() if r["Type"].startswith(COGNITO_PREFIX)}
    for logical_id in _creation_order(cognito):
        resource = cognito[logical_id]
        if "Condition" in resource and not resolver.condition(resource["Condition"]):
            continue
        props = resolver.resolve(resource.get("Properties", {}))
        physical, attributes = _CREATORS[resource["Type"]](idp, props)
        resolver.physical[logical_id] = physical
        resolver.attributes.update({(logical_id, k): v for k, v in attributes.items()})
    return _outputs(template, resolver, set(cognito))


class _CognitoResolver(_Resolver):
    """The stack resolver, with list parameters split as CloudFormation does and Fn::GetAtt answered from what the
    cognito-idp API returned."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.attributes: dict[tuple[str, str], str] = {}
        for name, spec in self.template.get("Parameters", {}).items():
            value = self.params.get(name)
            if isinstance(value, str) and (spec["Type"] == "CommaDelimitedList" or spec["Type"].startswith("List<")):
                self.params[name] = [item.strip() for item in value.split(",")]

    def _fn_getatt(self, value: Any) -> str:
        logical_id, attribute = value if isinstance(value, list) else value.split(".", 1)
        if (logical_id, attribute) in self.attributes:
            return self.attributes[(logical_id, attribute)]
        raise LocalStackError(f"cannot resolve Fn::GetAtt {logical_id}.{attribute} locally")


def _creation_order(resources: dict[str, dict[str, Any]]) -> list[str]:
    """Logical ids, each after the Cognito resources it refers to."""
    order: list[str] = []
    pending = dict(resources)
    while pending:
        ready = [k for k, r in pending.items() if not (_references(r) & set(pending)) - {k}]
        if not ready:
            raise LocalStackError(f"circular references between {sorted(pending)}")
        for k in sorted(ready):
            order.append(k)
            pending.pop(k)
    return order


def _outputs(template: dict[str, Any], resolver: _CognitoResolver, cognito: set[str]) -> dict[str, str]:
    outputs: dict[str, str] = {}
    for key, output in template.get("Outputs", {}).items():
        refs = _references(output["Value"])
        if not refs & cognito or ("Condition" in output and not resolver.condition(output["Condition"])):
            continue
        if resolver.can_resolve(output["Value"]):
            outputs[key] = str(resolver.resolve(output["Value"]))
    return outputs


def _user_pool(idp: Any, props: dict[str, Any]) -> tuple[str, dict[str, str]]:
    kwargs = dict(props)
    kwargs["PoolName"] = kwargs.pop("UserPoolName")
    enabled_mfas = kwargs.pop("EnabledMfas", [])
    pool = _find(idp.list_user_pools, "UserPools", lambda p: p["Name"] == kwargs["PoolName"], MaxResults=60)
    pool_id = pool["Id"] if pool else idp.create_user_pool(**kwargs)["UserPool"]["Id"]
    if kwargs.get("MfaConfiguration", "OFF") != "OFF" and "SOFTWARE_TOKEN_MFA" in enabled_mfas:
        idp.set_user_pool_mfa_config(UserPoolId=pool_id, MfaConfiguration=kwargs["MfaConfiguration"],
                                     SoftwareTokenMfaConfiguration={"Enabled": True})
    described = idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    region = pool_id.split("_", 1)[0]
    return pool_id, {"Arn": described["Arn"], "UserPoolId": pool_id,
                     "ProviderName": f"cognito-idp.{region}.amazonaws.com/{pool_id}",
                     "ProviderURL": f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"}


def _client(idp: Any, props: dict[str, Any]) -> tuple[str, dict[str, str]]:
    found = _find(idp.list_user_pool_clients, "UserPoolClients", lambda c: c["ClientName"] == props["ClientName"],
                  UserPoolId=props["UserPoolId"], MaxResults=60)
    client_id = found["ClientId"] if found else idp.create_user_pool_client(**props)["UserPoolClient"]["ClientId"]
    return client_id, {"ClientId": client_id, "Name": props["ClientName"]}


def _group(idp: Any, props: dict[str, Any]) -> tuple[str, dict[str, str]]:
    with contextlib.suppress(idp.exceptions.GroupExistsException):  # idempotent: a restart finds it there
        idp.create_group(**props)
    return props["GroupName"], {}


def _identity_provider(idp: Any, props: dict[str, Any]) -> tuple[str, dict[str, str]]:
    try:
        idp.describe_identity_provider(UserPoolId=props["UserPoolId"], ProviderName=props["ProviderName"])
    except idp.exceptions.ResourceNotFoundException:
        idp.create_identity_provider(**props)
    return props["ProviderName"], {}


def _domain(idp: Any, props: dict[str, Any]) -> tuple[str, dict[str, str]]:
    if not idp.describe_user_pool_domain(Domain=props["Domain"]).get("DomainDescription"):
        idp.create_user_pool_domain(**props)
    return props["Domain"], {}


_CREATORS: dict[str, Callable[[Any, dict[str, Any]], tuple[str, dict[str, str]]]] = {
    "AWS::Cognito::UserPool": _user_pool,
    "AWS::Cognito::UserPoolClient": _client,
    "AWS::Cognito::UserPoolGroup": _group,
    "AWS::Cognito::UserPoolIdentityProvider": _identity_provider,
    "AWS::Cognito::UserPoolDomain": _domain,
}


def _find(list_call: Callable[..., dict], key: str, match: Callable[[dict], bool], **kwargs: Any) -> dict | None:
    while True:
        page = list_call(**kwargs)
        for item in page.get(key, []):
            if match(item):
                return item
        if not page.get("NextToken"):
            return None
        kwargs["NextToken"] = page["NextToken"]


def seed_user(directory: Any, username: str, password: str, groups: list[str], phone_e164: str | None = None) -> str:
    """Make sure a local demo user exists with this permanent password and these groups (what ``make token
    ROLE=...`` signs in); returns its ``sub``. ``directory`` is an identity.cognito.CognitoDirectory."""
    from chalicelib.identity.ports import UserExists

    try:
        if groups == ["citizen"]:
            sub = directory.create_citizen(username, password, phone_e164 or "+84900000000").sub
        else:
            sub = directory.create_staff(username, password, groups, phone_e164).sub
    except UserExists:
        sub = ""
    directory.admin_set_password(username, password, permanent=True)  # no first-sign-in challenge for demo users
    for group in set(groups) - set(directory.groups_of(username)):
        directory.add_to_group(username, group)
    return sub or directory.sub_of(username)
