"""The one template (infra/resources.json) and just enough of CloudFormation to evaluate it after a local deploy:
references between its parts, and the intrinsic functions (shared by the stack deploy in ``resources`` and the user
pool made by API in ``cognito_local``), and the merge of a template fragment (infra/web.json) into it."""
from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

from chalicelib.local.fixups import _NO_VALUE, LocalStackError

TEMPLATE_PATH = Path(__file__).resolve().parents[2] / "infra" / "resources.json"
_SUB_VAR = re.compile(r"\$\{([^}!][^}]*)\}")


def merge_fragment(template: dict[str, Any], fragment: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``template`` with the fragment's Parameters, Conditions, Resources, Outputs and Metadata added;
    a key present in both is an error (the fragment must not silently replace anything)."""
    merged = copy.deepcopy(template)
    for section in ("Parameters", "Conditions", "Resources", "Outputs", "Metadata"):
        clash = set(merged.get(section, {})) & set(fragment.get(section, {}))
        if clash:
            raise LocalStackError(f"{section} defined twice: {sorted(clash)}")
        merged.setdefault(section, {}).update(copy.deepcopy(fragment.get(section, {})))
    return merged


def _references(node: Any) -> set[str]:
    """Logical ids (or parameters) a template fragment refers to through Ref, Fn::GetAtt, Fn::Sub or DependsOn."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                target = value[0] if isinstance(value, list) else str(value).split(".")[0]
                found.add(target)
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                found |= {m.split(".")[0] for m in _SUB_VAR.findall(text)}
                if isinstance(value, list):
                    found |= _references(value[1])
            elif key == "DependsOn":
                found |= set(value if isinstance(value, list) else [value])
            else:
                found |= _references(value)
    elif isinstance(node, list):
        for item in node:
            found |= _references(item)
    return found


class _Resolver:
    """Just enough of CloudFormation's intrinsic functions to evaluate the template's values after deployment."""

    def __init__(self, template: dict[str, Any], stack: dict[str, Any], resources: list[dict[str, Any]]) -> None:
        _, partition, _, region, account, _ = stack["StackId"].split(":", 5)
        self.template = template
        self.pseudo = {
            "AWS::Partition": partition,
            "AWS::Region": region,
            "AWS::AccountId": account,
            "AWS::StackName": stack["StackName"],
            "AWS::StackId": stack["StackId"],
            "AWS::URLSuffix": "amazonaws.com",
        }
        self.params = {
            name: spec.get("Default") for name, spec in template.get("Parameters", {}).items()
        } | {p["ParameterKey"]: p["ParameterValue"] for p in stack.get("Parameters", [])}
        self.physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}

    def can_resolve(self, node: Any) -> bool:
        known = set(self.pseudo) | set(self.params) | set(self.physical)
        return _references(node) <= known

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template["Conditions"][name]))

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self.resolve(i) for i in node) if v is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, value), = node.items()
            handler = getattr(self, "_" + key.replace("::", "_").lower(), None) if key.startswith(("Fn::", "Ref")) else None
            if handler:
                return handler(value)
            if key == "Condition" and isinstance(value, str):
                return self.condition(value)
        resolved = {k: self.resolve(v) for k, v in node.items()}
        return {k: v for k, v in resolved.items() if v is not _NO_VALUE}

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        for table in (self.pseudo, self.params, self.physical):
            if name in table:
                return table[name]
        raise LocalStackError(f"cannot resolve Ref {name}")

    def _fn_getatt(self, value: Any) -> str:
        logical_id, attribute = value if isinstance(value, list) else value.split(".", 1)
        if attribute != "Arn":
            raise LocalStackError(f"cannot resolve Fn::GetAtt {logical_id}.{attribute} locally")
        rtype = self.template["Resources"][logical_id]["Type"]
        physical, p = self.physical[logical_id], self.pseudo
        arns = {
            "AWS::S3::Bucket": lambda: f"arn:{p['AWS::Partition']}:s3:::{physical}",
            "AWS::SQS::Queue": lambda: (
                f"arn:{p['AWS::Partition']}:sqs:{p['AWS::Region']}:{p['AWS::AccountId']}:{physical.rsplit('/', 1)[-1]}"
            ),
            "AWS::DynamoDB::Table": lambda: (
                f"arn:{p['AWS::Partition']}:dynamodb:{p['AWS::Region']}:{p['AWS::AccountId']}:table/{physical}"
            ),
            "AWS::SNS::Topic": lambda: physical,
            "AWS::SecretsManager::Secret": lambda: physical,
            "AWS::KMS::Key": lambda: f"arn:{p['AWS::Partition']}:kms:{p['AWS::Region']}:{p['AWS::AccountId']}:key/{physical}",
            "AWS::IAM::Role": lambda: f"arn:{p['AWS::Partition']}:iam::{p['AWS::AccountId']}:role/{physical}",
            "AWS::Logs::LogGroup": lambda: (
                f"arn:{p['AWS::Partition']}:logs:{p['AWS::Region']}:{p['AWS::AccountId']}:log-group:{physical}:*"
            ),
        }
        if rtype not in arns:
            raise LocalStackError(f"cannot resolve Fn::GetAtt {logical_id}.Arn ({rtype}) locally")
        return arns[rtype]()

    def _fn_sub(self, value: Any) -> str:
        text, extra = (value[0], self.resolve(value[1])) if isinstance(value, list) else (value, {})

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in extra:
                return str(extra[name])
            if "." in name and not name.startswith("AWS::"):
                return str(self._fn_getatt(name))
            return str(self._ref(name))

        return _SUB_VAR.sub(replace, text)

    def _fn_join(self, value: list[Any]) -> str:
        return str(value[0]).join(str(v) for v in self.resolve(value[1]))

    def _fn_if(self, value: list[Any]) -> Any:
        return self.resolve(value[1] if self.condition(value[0]) else value[2])

    def _fn_equals(self, value: list[Any]) -> bool:
        left, right = self.resolve(value)
        return str(left) == str(right)

    def _fn_not(self, value: list[Any]) -> bool:
        return not self.resolve(value[0])

    def _fn_and(self, value: list[Any]) -> bool:
        return all(self.resolve(value))

    def _fn_or(self, value: list[Any]) -> bool:
        return any(self.resolve(value))
