"""Turn pydantic validation failures into our field errors with Vietnamese messages."""
from __future__ import annotations

from contextlib import contextmanager, suppress
from contextvars import ContextVar
from typing import Any, Iterator, TypeVar

from pydantic import BaseModel, ValidationError

from chalicelib.core.errors import AppError, FieldError, validation_error
from chalicelib.core.validation import InvalidValueError, RuleError

M = TypeVar("M", bound=BaseModel)

_MESSAGES = {
    "missing": ("FIELD_REQUIRED", "Trường này là bắt buộc."),
    "extra_forbidden": ("FIELD_NOT_ALLOWED", "Trường này không được phép."),
    "int_type": ("INTEGER_REQUIRED", "Giá trị phải là số nguyên."),
    "int_parsing": ("INTEGER_REQUIRED", "Giá trị phải là số nguyên."),
    "float_type": ("NUMBER_REQUIRED", "Giá trị phải là số."),
    "string_type": ("STRING_REQUIRED", "Giá trị phải là chuỗi ký tự."),
    "string_too_short": ("TOO_SHORT", "Giá trị quá ngắn hoặc để trống."),
    "string_too_long": ("TOO_LONG", "Giá trị quá dài."),
    "string_pattern_mismatch": ("FORMAT_INVALID", "Giá trị không đúng định dạng."),
    "greater_than": ("MUST_BE_POSITIVE", "Giá trị phải lớn hơn {gt}."),
    "greater_than_equal": ("TOO_SMALL", "Giá trị phải từ {ge} trở lên."),
    "less_than_equal": ("TOO_LARGE", "Giá trị không được vượt quá {le}."),
    "too_short": ("TOO_FEW", "Cần ít nhất {min_length} phần tử."),
    "too_long": ("TOO_MANY", "Không được quá {max_length} phần tử."),
    "list_type": ("LIST_REQUIRED", "Giá trị phải là một danh sách."),
    "model_type": ("OBJECT_REQUIRED", "Giá trị phải là một đối tượng JSON."),
    "model_attributes_type": ("OBJECT_REQUIRED", "Giá trị phải là một đối tượng JSON."),
    "literal_error": ("VALUE_NOT_ALLOWED", "Giá trị không thuộc danh sách cho phép: {expected}."),
    "datetime_parsing": ("DATETIME_INVALID", "Thời gian phải theo RFC 3339, có múi giờ."),
    "datetime_from_date_parsing": ("DATETIME_INVALID", "Thời gian phải theo RFC 3339, có múi giờ."),
    "timezone_aware": ("DATETIME_INVALID", "Thời gian phải có múi giờ."),
    "date_parsing": ("DATE_INVALID", "Ngày phải có dạng YYYY-MM-DD."),
    "date_from_datetime_parsing": ("DATE_INVALID", "Ngày phải có dạng YYYY-MM-DD."),
    "bool_type": ("BOOLEAN_REQUIRED", "Giá trị phải là true hoặc false."),
}


def _field_error(err: dict[str, Any]) -> FieldError:
    loc = ".".join(str(p) for p in err.get("loc", ()) if p != "__root__")
    ctx = err.get("ctx") or {}
    cause = ctx.get("error")
    if isinstance(cause, InvalidValueError):
        return FieldError(loc or "body", cause.code, cause.message, isinstance(cause, RuleError))
    if err["type"] == "int_type" and isinstance(err.get("input"), float) and err["input"].is_integer():
        # 5.0 is an integer to JSON Schema, not to a strict money field: a rule beyond the schema, its own code.
        return FieldError(loc or "body", "INTEGER_REQUIRED", "Giá trị phải là số nguyên, viết không có phần thập phân.",
                          rule=True)
    code, message = _MESSAGES.get(err["type"], ("INVALID", "Giá trị không hợp lệ."))
    with suppress(KeyError, IndexError):
        message = message.format(**{k: v for k, v in ctx.items() if k != "error"})
    return FieldError(loc or "body", code, message)


_recorded: ContextVar[list | None] = ContextVar("validated_models", default=None)


@contextmanager
def recording_models(into: list) -> Iterator[None]:
    """Note every model `parse` validates with, inside the block (the HTTP shell checks it is the declared one)."""
    token = _recorded.set(into)
    try:
        yield
    finally:
        _recorded.reset(token)


def parse(model: type[M], data: Any) -> M:
    """Validate `data` into `model` or raise a 422 problem listing every field error. An instance of the model is
    returned as it is."""
    if isinstance(data, model):
        return data
    seen = _recorded.get()
    if seen is not None:
        seen.append(model)
    if not isinstance(data, dict):
        raise AppError("BODY_NOT_OBJECT", "Nội dung yêu cầu phải là một đối tượng JSON.", 400)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error([_field_error(e) for e in exc.errors(include_url=False)]) from None
