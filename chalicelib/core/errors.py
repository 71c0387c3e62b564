"""One error hierarchy for the whole back end, rendered as RFC 9457 problem+json in one place.

Every refusal the system makes is an ``AppError`` with a stable ``code`` (UPPER_SNAKE, for programs), an HTTP
``status`` and a Vietnamese ``detail`` (for people). Services raise these; the HTTP layer renders them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PROBLEM_BASE = "https://dichvucong.gov.vn/problems/"


@dataclass
class FieldError:
    field: str
    code: str
    message: str
    rule: bool = False  # a rule beyond the request's JSON Schema (validation.RuleError), not shown to clients

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}

    @classmethod
    def of(cls, field_name: str, exc: Any) -> "FieldError":
        """The field error of a domain refusal (validation.InvalidValueError), a rule's kept as one."""
        from chalicelib.core.validation import RuleError

        return cls(field_name, exc.code, exc.message, isinstance(exc, RuleError) or getattr(exc, "rule", False) is True)


@dataclass
class AppError(Exception):
    """Base of every error that becomes an HTTP answer."""

    code: str
    detail: str
    status: int = 400
    title: str = "Yêu cầu không hợp lệ"
    errors: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(f"{self.code}: {self.detail}")

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.code.lower().replace("_", "-"),
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = [e.as_dict() for e in self.errors]
        body.update(self.extra)
        return body


def validation_error(errors: list[FieldError], detail: str = "Dữ liệu gửi lên không hợp lệ.") -> AppError:
    """422 with the field errors: VALIDATION_FAILED when the request breaks its schema; when every error is a rule
    the schema cannot state (FieldError.rule), the first rule's own code, which its route declares."""
    code = errors[0].code if errors and all(e.rule for e in errors) else "VALIDATION_FAILED"
    return AppError(code, detail, 422, "Dữ liệu không hợp lệ", errors)


def rule_error(field_name: str, code: str, message: str) -> AppError:
    """A schema-valid field refused by a rule beyond its schema (see validation.RuleError): 422 with its own code."""
    return validation_error([FieldError(field_name, code, message, rule=True)], message)


def not_found(code: str, detail: str) -> AppError:
    return AppError(code, detail, 404, "Không tìm thấy")


def conflict(code: str, detail: str, **extra: Any) -> AppError:
    return AppError(code, detail, 409, "Xung đột trạng thái", extra=extra)


def unauthorized(code: str, detail: str) -> AppError:
    return AppError(code, detail, 401, "Chưa xác thực", headers={"WWW-Authenticate": "Bearer"})


def forbidden(code: str, detail: str) -> AppError:
    return AppError(code, detail, 403, "Không có quyền")


def invalid_signature(detail: str = "Chữ ký của yêu cầu không hợp lệ hoặc đã hết hạn.") -> AppError:
    return AppError("INVALID_SIGNATURE", detail, 401, "Chữ ký không hợp lệ")


def internal_error() -> AppError:
    return AppError(
        "INTERNAL_ERROR",
        "Hệ thống đang gặp sự cố, vui lòng thử lại sau. Dữ liệu của bạn không bị thay đổi.",
        500,
        "Lỗi hệ thống",
    )
