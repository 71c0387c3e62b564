"""Route declarations: each route says once, beside its handler, what it takes, what it answers, who may call it and
which problems it can answer. The shell enforces what can be enforced before the handler runs - the caller is
authenticated and their role checked before anything else is read (a missing token is a 401, never a 422 about the
body) - and the OpenAPI document is generated from the same declarations (`api/openapi.py`), so the contract cannot
drift from what the server does.

On the local and test stages (`settings.contract_checks`) every answer is also checked against its declaration: a
success status or body the route did not declare, a problem code it did not list, or a request body validated with
another model than the declared one is logged and answered 500 CONTRACT_VIOLATION, so the suites fail on any drift.

    @route(bp, "POST", "/v1/lookup", summary="...", tag="citizens", request=LookupIn, ok={200: Ok("...", LookupResult)},
           problems={404: ("DOSSIER_NOT_FOUND",)})
    def lookup(call: Call):
        return do_lookup(call.ctx, call.body())
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping

from pydantic import BaseModel, ValidationError

from chalicelib.api import http
from chalicelib.core.errors import AppError, forbidden

JSON = http.JSON
BODY_METHODS = {"POST", "PUT", "PATCH"}


@dataclass(frozen=True)
class Access:
    """Who may call: `none` (anyone), `optional` (anyone; a token, when sent, must be valid and hold a role),
    `bearer` (a valid token, with one of `roles` when given), `webhook` (a partner's Standard Webhooks signature,
    checked by the handler with that partner's secret) or `gateway` (a payment gateway's own signed query)."""

    kind: Literal["none", "optional", "bearer", "webhook", "gateway"] = "none"
    roles: tuple[str, ...] = ()


ANYONE = Access("none")
WEBHOOK = Access("webhook")
GATEWAY = Access("gateway")


def bearer(*roles: str) -> Access:
    return Access("bearer", tuple(roles))


def optional_bearer(*roles: str) -> Access:
    return Access("optional", tuple(roles))


@dataclass(frozen=True)
class Ok:
    """A success answer: a response model, or a raw schema and content type (a PDF), or nothing (204)."""

    description: str
    model: type[BaseModel] | None = None
    content_type: str = JSON
    schema: Mapping[str, Any] | None = None
    headers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Param:
    """A path or header parameter (query parameters come from the route's query model)."""

    name: str
    where: Literal["path", "header"] = "path"
    description: str = ""
    required: bool = True
    schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "string"})


@dataclass(frozen=True)
class Reply:
    body: Any = None
    status: int | None = None  # None: the route's only declared success status
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = JSON


BODY_PROBLEMS = {400: ("BODY_REQUIRED", "BODY_NOT_JSON", "BODY_NOT_OBJECT", "BODY_DUPLICATE_KEY", "BODY_TOO_DEEP"),
                 413: ("PAYLOAD_TOO_LARGE",), 415: ("UNSUPPORTED_MEDIA_TYPE",), 422: ("VALIDATION_FAILED",)}
_TOKEN = ("TOKEN_MISSING", "TOKEN_INVALID", "TOKEN_EXPIRED", "TOKEN_REVOKED")


@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str
    summary: str
    tag: str
    description: str = ""
    request: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    params: tuple[Param, ...] = ()
    ok: Mapping[int, Ok] = field(default_factory=dict)
    problems: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    access: Access = ANYONE
    cache_control: str = "no-store"

    def all_problems(self) -> dict[int, tuple[str, ...]]:
        """The declared problems plus those the shell itself answers for this kind of route."""
        from chalicelib.core.fields import rule_codes

        groups: list[Mapping[int, tuple[str, ...]]] = [self.problems]
        if self.request is not None:
            groups += [BODY_PROBLEMS, {422: rule_codes(self.request)}]
        if self.query is not None:
            groups += [{422: ("VALIDATION_FAILED", *rule_codes(self.query))}]
        if self.access.kind in ("bearer", "optional"):
            groups.append({401: _TOKEN})
            if self.access.roles:
                groups.append({403: ("ROLE_FORBIDDEN",)})
        if self.access.kind == "webhook":
            groups.append({401: ("INVALID_SIGNATURE",)})
        groups.append({500: ("INTERNAL_ERROR",)})
        out: dict[int, tuple[str, ...]] = {}
        for group in groups:
            for status, codes in group.items():
                out[status] = tuple(dict.fromkeys((*out.get(status, ()), *codes)))
        return dict(sorted(out.items()))


@dataclass
class Call:
    """One request as a handler sees it: the context, the verified caller, path parameters and lazy body access."""

    spec: RouteSpec
    request: Any
    ctx: Any
    principal: Any
    path: dict[str, str]
    _raw: bytes | None = None
    _body: Any = None

    def raw(self) -> bytes:
        if self._raw is None:
            self._raw = http.raw_body(self.request, self.ctx.settings.max_body_bytes)
        return self._raw

    def body(self) -> Any:
        """The JSON body (parsed once): size-capped, UTF-8, no repeated keys; the use case validates its fields."""
        if self._body is None:
            self._body = http.parse_json(self.raw(), http.header(self.request, "content-type"))
        return self._body

    def header(self, name: str) -> str | None:
        return http.header(self.request, name)

    def client_ip(self) -> str:
        """The caller's address as API Gateway saw it (``requestContext.identity.sourceIp``; never a forwarding
        header, which the caller writes). Locally the test client's address (chalicelib.local.stack)."""
        identity = (self.request.context or {}).get("identity") or {}
        return str(identity.get("sourceIp") or "")

    def bearer_token(self) -> str | None:
        """The raw access token of an authenticated call (for the user pool calls that take it, e.g. a password
        change); None on an anonymous call."""
        if self.principal is None:
            return None
        from chalicelib.identity.domain import parse_bearer

        return parse_bearer(self.header("authorization"))

    def query_params(self) -> dict[str, str]:
        return dict(self.request.query_params or {})

    def query(self) -> Any:
        """The query string validated by the route's query model."""
        from chalicelib.core.parsing import parse

        return parse(self.spec.query, self.query_params())


def route(owner, method: str, path: str, **declaration: Any) -> Callable:
    """Declare a route of `owner` (a Chalice app or blueprint) and register its handler (see the module docstring)."""
    spec = RouteSpec(method=method, path=path, **declaration)
    kwargs: dict[str, Any] = {"methods": [method]}
    if method in BODY_METHODS:
        kwargs["content_types"] = http.ACCEPTED_CONTENT_TYPES

    def decorate(handler: Callable[[Call], Any]) -> Callable:
        @functools.wraps(handler)
        def view(**path_params: str):
            request = owner.current_request
            checks = _Checks(spec)
            return http.serve(request, lambda: _run(spec, handler, request, path_params, checks), checks.problem)

        view.__route_spec__ = spec  # type: ignore[attr-defined]
        owner.route(path, **kwargs)(view)
        return view

    return decorate


def spec_of(view: Callable) -> RouteSpec | None:
    return getattr(view, "__route_spec__", None)


def _run(spec: RouteSpec, handler: Callable[[Call], Any], request, path_params: dict[str, str], checks: "_Checks"):
    from chalicelib.api.wiring import context

    ctx = context()
    checks.enabled = bool(getattr(ctx.settings, "contract_checks", False))
    call = Call(spec, request, ctx, _authenticate(spec.access, request, ctx), dict(path_params))
    with checks.watching_models():
        result = handler(call)
    reply = result if isinstance(result, Reply) else Reply(result)
    return checks.render(reply)


def _authenticate(access: Access, request, ctx):
    if access.kind not in ("bearer", "optional"):
        return None
    principal = http.principal(request, ctx.verifier, required=access.kind == "bearer")
    if principal is not None and access.roles and not principal.has_role(*access.roles):
        raise forbidden("ROLE_FORBIDDEN", "Bạn không có quyền thực hiện chức năng này.")
    return principal


class ContractViolationError(Exception):
    """An answer the route did not declare (only raised where contract checks are on: local and test stages)."""


class _Checks:
    """The contract checks of one request, and the rendering of its reply."""

    def __init__(self, spec: RouteSpec) -> None:
        self.spec, self.enabled, self.models = spec, False, []

    def watching_models(self):
        from chalicelib.core.parsing import recording_models

        return recording_models(self.models)

    def problem(self, err: AppError) -> AppError | None:
        declared = self.spec.all_problems().get(err.status, ())
        if self.enabled and err.code not in declared and err.code != "CONTRACT_VIOLATION":
            return self._violation(f"problem {err.status} {err.code} not declared")
        return None

    def render(self, reply: Reply):
        status = reply.status or _only_success(self.spec)
        if self.enabled:
            self._check(status, reply)
        if reply.body is None:
            from chalice import Response

            return Response(b"", headers={**http.BASE_HEADERS, **reply.headers}, status_code=status)
        if reply.content_type == JSON:
            headers = {"Cache-Control": self.spec.cache_control, **reply.headers}
            return http.json_response(reply.body, status, headers)
        from chalice import Response

        return Response(reply.body, headers={**http.BASE_HEADERS, "Content-Type": reply.content_type,
                                             **reply.headers}, status_code=status)

    def _check(self, status: int, reply: Reply) -> None:
        ok = self.spec.ok.get(status)
        if ok is None:
            raise self._violation(f"success status {status} not declared")
        if self.spec.request is not None and self.models and self.spec.request not in self.models:
            raise self._violation(f"body validated with {self.models[0].__name__}, not {self.spec.request.__name__}")
        if ok.model is not None:
            try:
                ok.model.model_validate(reply.body)
            except ValidationError as exc:
                raise self._violation(f"answer does not match {ok.model.__name__}: {exc.errors()[:3]}") from None

    def _violation(self, what: str) -> AppError:
        from chalicelib.aws.observability import logger

        logger().error("contract violation", extra={"route": f"{self.spec.method} {self.spec.path}", "what": what})
        return AppError("CONTRACT_VIOLATION", "Câu trả lời không đúng với mô tả API (kiểm tra hợp đồng).", 500,
                        "Lỗi hệ thống")


def _only_success(spec: RouteSpec) -> int:
    statuses = [s for s in spec.ok if s < 300]
    if len(statuses) != 1:
        raise RuntimeError(f"{spec.method} {spec.path}: the handler must name its status (declared {statuses})")
    return statuses[0]
