"""Redaction of what the integration self-test records: credentials, tokens and personal data never reach evidence.

The self-test calls a province's real APIs with real credentials, and the answers may carry a citizen's ID number,
phone, name or address. Before anything is recorded (stored evidence, the PDF report) bodies, URLs and headers go
through here. It widens ``core.masking.mask_pii`` (ID numbers, phones, the usual secret keys) with what provincial
APIs use besides: Vietnamese credential names (MatKhau, TenDangNhap), session ids, payer names, addresses and tax
codes; tokens hidden in free text (Bearer, Basic, JWTs, ``token=`` in a query); and key/value pairs in bodies that
are not valid JSON (a truncated excerpt, XML/SOAP). Over-masking is the safe error here as in logs.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from chalicelib.core.masking import SECRET_MASK, mask_id_number, mask_name, mask_pii

# Keys are compared lower-cased with "_", "-", "." and spaces removed, so MatKhau, mat_khau and mat-khau match.
_SECRET_PARTS = ("password", "passwd", "matkhau", "secret", "token", "authorization", "cookie", "apikey",
                 "privatekey", "credential", "session", "passphrase", "signature", "chuky")
_SECRET_KEYS = frozenset({"pwd", "pass", "pin", "jwt", "mk", "sig", "otp", "otpcode", "maotp"})
_LOGIN_KEYS = frozenset({"username", "user", "login", "tendangnhap", "taikhoan", "userid", "clientid", "account"})
_NAME_KEYS = frozenset({"hoten", "hovaten", "fullname", "tennnt", "tennguoinop", "nguoinop", "payername",
                        "tenchuho", "tenkhachhang", "customername", "tennguoi"})
_ADDRESS_PARTS = ("diachi", "address")
_TAX_CODE_KEYS = frozenset({"masothue", "mst", "taxcode", "masothuenguoinop", "mstnnt"})

_SENSITIVE_WORDS = r"[\w.-]*?(?:password|passwd|pwd|mat_?khau|secret|token|authorization|cookie|api_?key|session" \
                   r"|credential|ho_?ten|ten_?nnt|dia_?chi|address|ma_?so_?thue|ten_?dang_?nhap|user_?name)[\w.-]*"
# "key": "value" or key=value inside text that is not parseable JSON (a cut excerpt, a query string, a log line).
_TEXT_PAIR = re.compile(r"(?i)(\"?" + _SENSITIVE_WORDS + r"\"?\s*[:=]\s*)(\"(?:[^\"\\]|\\.)*\"?|[^\s,&;}\]\"']+)")
# <MatKhau>...</MatKhau>, <ns:password>...</ns:password> in XML or SOAP bodies.
_XML_PAIR = re.compile(r"(?i)(<(?:\w+:)?(" + _SENSITIVE_WORDS + r")\b[^>]*>)([^<]*)(</)")
_BEARER = re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{8,}")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")

SHOWN_ANSWER_HEADERS = ("content-type", "content-length", "date", "server", "www-authenticate", "retry-after",
                        "location", "cache-control", "x-request-id", "x-correlation-id")


def _compact(key: object) -> str:
    return re.sub(r"[\s_.-]", "", re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(key))).lower()


def _key_class(key: object) -> str | None:
    name = _compact(key)
    if name in _SECRET_KEYS or any(part in name for part in _SECRET_PARTS):
        return "secret"
    if name in _LOGIN_KEYS:
        return "secret"  # half of a credential pair: shown only as masked
    if name in _NAME_KEYS:
        return "name"
    if any(part in name for part in _ADDRESS_PARTS):
        return "secret"
    if name in _TAX_CODE_KEYS:
        return "tax_code"
    return None


def _mask(kind: str, value: Any) -> Any:
    if value is None or kind == "secret" and not isinstance(value, (Mapping, list, tuple)):
        return None if value is None else SECRET_MASK
    if isinstance(value, Mapping):
        return {k: _mask(kind, v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_mask(kind, v) for v in value]
    if kind == "name" and isinstance(value, str):
        return mask_name(value)  # the one name mask of the logs
    return mask_id_number(str(value))  # tax code: keep the last three digits


def redact_text(text: str) -> str:
    """Mask tokens, credential pairs, ID numbers and phones inside free text."""
    text = _JWT.sub(SECRET_MASK, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {SECRET_MASK}", text)
    text = _XML_PAIR.sub(lambda m: f"{m.group(1)}{SECRET_MASK}{m.group(4)}", text)
    text = _TEXT_PAIR.sub(lambda m: m.group(1) + ('"***"' if m.group(2).startswith('"') else SECRET_MASK), text)
    return mask_pii(text)


def _walk(value: Any) -> Any:
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            kind = _key_class(key)
            out[key] = _walk(item) if kind is None else _mask(kind, item)
        return out
    if isinstance(value, (list, tuple)):
        return [_walk(item) for item in value]
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, int) and not isinstance(value, bool):
        masked = redact_text(str(value))  # an ID number sent as a JSON number
        return value if masked == str(value) else masked
    return value


def redact(value: Any) -> Any:
    """A copy of a JSON-like value with credentials, tokens and personal data masked; the input is not modified."""
    return mask_pii(_walk(value))


def redact_url(url: str) -> str:
    """The URL with its user:password, sensitive query values, IDs and phones masked."""
    try:
        parts = urlsplit(url)
        query = [(k, SECRET_MASK if _key_class(k) else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
        netloc = parts.netloc if "@" not in parts.netloc else f"{SECRET_MASK}@{parts.netloc.rsplit('@', 1)[1]}"
        url = urlunsplit((parts.scheme, netloc, parts.path, urlencode(query, safe="*"), ""))
    except ValueError:
        pass  # not a URL we can take apart: the text rules below still apply
    return redact_text(url)


def redact_headers(headers: Mapping[str, str], shown: tuple[str, ...] | None = SHOWN_ANSWER_HEADERS) -> dict[str, str]:
    """The headers worth showing (``shown``; None keeps all), secret values masked (Authorization: Bearer ***)."""
    out = {}
    for key, value in headers.items():
        if shown is not None and key.lower() not in shown:
            continue
        if _key_class(key) == "secret" or key.lower() in ("x-api-key", "proxy-authorization"):
            scheme = str(value).split(" ", 1)[0] if " " in str(value) else ""
            out[key] = f"{scheme} {SECRET_MASK}".strip()
        else:
            out[key] = redact_url(str(value)) if key.lower() == "location" else redact_text(str(value))
    return out


def redact_body(body: bytes | str | Any, limit: int = 4000) -> str:
    """A body as display text, redacted BEFORE it is cut to ``limit`` characters (so a cut never reveals a value).

    JSON is parsed, redacted by key and pretty-printed; anything else is redacted as text.
    """
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    if isinstance(body, str):
        try:
            text = json.dumps(redact(json.loads(body)), ensure_ascii=False, indent=2)
        except ValueError:
            text = redact_text(body)
    else:
        text = json.dumps(redact(body), ensure_ascii=False, indent=2, default=str)
    return text if len(text) <= limit else text[:limit] + "\n…"
