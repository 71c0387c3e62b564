"""Vietnamese mobile numbers and e-mail addresses of citizens and alert contacts.

Phones receive OTPs, and the portal phone must equal the bank's OTP phone when an account is linked, so every
number is stored in one form, E.164 (``+84912345678``). Validity comes from libphonenumber's data (the
``phonenumbers`` package) rather than a hand-kept prefix list, which goes stale when prefixes are re-allocated. The
carrier is never inferred: numbers are portable between carriers.
"""
from __future__ import annotations

import re

from chalicelib.core.validation import InvalidValueError

_PHONE_CHARS = re.compile(r"\(?\+?[0-9 .\-()]+", re.ASCII)
_VN_COUNTRY_CODE = 84
_PHONE_MESSAGE = "Số điện thoại di động không hợp lệ: phải là số di động Việt Nam, ví dụ 0912345678 hoặc +84912345678."

_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*", re.ASCII)
_DOMAIN_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", re.ASCII)
_TOP_LEVEL = re.compile(r"(xn--[a-z0-9-]+|[a-z]{2,63})", re.ASCII)
_EMAIL_MESSAGE = "Địa chỉ email không hợp lệ, ví dụ: nguyenvana@example.vn."


def mobile_pattern() -> str:
    """The JSON Schema pattern of a Vietnamese mobile number as a client should send it (``0`` or ``+84`` and the
    national number), from libphonenumber's own mobile pattern for VN, so the document follows the data we validate
    with (``\\d`` spelled ``[0-9]``: JSON Schema and Python would otherwise allow other scripts' digits)."""
    from phonenumbers import PhoneMetadata

    national = PhoneMetadata.metadata_for_region("VN").mobile.national_number_pattern.replace(r"\d", "[0-9]")
    return rf"^(?:0|\+84)(?:{national})$"


def phone_pattern() -> str:
    """Like ``mobile_pattern``, for a mobile or a fixed-line number (libphonenumber's VN patterns of both)."""
    from phonenumbers import PhoneMetadata

    meta = PhoneMetadata.metadata_for_region("VN")
    national = "|".join(d.national_number_pattern.replace(r"\d", "[0-9]") for d in (meta.mobile, meta.fixed_line))
    return rf"^(?:0|\+84)(?:{national})$"


def email_pattern() -> str:
    """The JSON Schema pattern of an address ``validate_email`` accepts, in ASCII: a dot-atom local part of at most
    64 characters (at most 3 atoms), dotted domain labels and a real-looking top level (with maxLength 254)."""
    atom = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
    label = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    return rf"^{atom}{{1,30}}(?:\.{atom}{{1,16}}){{0,2}}@(?:{label}\.){{1,4}}(?:[A-Za-z]{{2,63}}|[Xx][Nn]--[A-Za-z0-9-]{{0,57}}[A-Za-z0-9])$"


def normalise_mobile(raw: str) -> str:
    """Return a Vietnamese mobile number in E.164 (``+84…``); landlines, short codes and foreign numbers are refused.

    Accepts ``0912345678``, ``+84912345678``, ``84912345678`` and ``0084912345678``, with spaces, dots or dashes.
    """
    import phonenumbers  # lazily: its metadata is heavy and most cold starts never need it

    text = raw.strip() if isinstance(raw, str) else ""
    # phonenumbers would quietly turn letters into digits (vanity numbers): refuse anything but digits and separators.
    if not _PHONE_CHARS.fullmatch(text):
        raise InvalidValueError("PHONE_INVALID", _PHONE_MESSAGE)
    try:
        number = phonenumbers.parse(text, "VN")
    except phonenumbers.NumberParseException:
        raise InvalidValueError("PHONE_INVALID", _PHONE_MESSAGE) from None
    if (
        number.country_code != _VN_COUNTRY_CODE
        or not phonenumbers.is_valid_number(number)
        or phonenumbers.number_type(number) != phonenumbers.PhoneNumberType.MOBILE
    ):
        raise InvalidValueError("PHONE_INVALID", _PHONE_MESSAGE)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def validate_email(raw: str) -> str:
    """Return the address with its domain lower-cased (and internationalised domains in punycode).

    A deliberately simple check (one ``@``, a dot-atom local part, a dotted domain with a real-looking top level)
    that refuses typos without rejecting real addresses; only delivery proves an address.
    """
    text = raw.strip() if isinstance(raw, str) else ""
    local, at, domain = text.rpartition("@")
    if not at or len(text) > 254 or len(local) > 64 or not _EMAIL_LOCAL.fullmatch(local):
        raise InvalidValueError("EMAIL_INVALID", _EMAIL_MESSAGE)
    domain = _ascii_domain(domain)
    labels = domain.split(".")
    if len(labels) < 2 or not all(_DOMAIN_LABEL.fullmatch(label) for label in labels):
        raise InvalidValueError("EMAIL_INVALID", _EMAIL_MESSAGE)
    if not _TOP_LEVEL.fullmatch(labels[-1]):
        raise InvalidValueError("EMAIL_INVALID", _EMAIL_MESSAGE)
    return f"{local}@{domain}"


def _ascii_domain(domain: str) -> str:
    """Lower-case the domain and encode a Unicode one (``ví-dụ.vn``) as punycode so it is stored in one form."""
    domain = domain.lower()
    if domain.isascii():
        return domain
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidValueError("EMAIL_INVALID", _EMAIL_MESSAGE) from None
