"""Which URLs the server may call on an administrator's say-so (API check, province delivery): the SSRF rules.

Pure checks on a URL's shape and on resolved addresses; the adapter (``adapters/provinces/http.py``) resolves the
host, checks every address here, then connects to the checked address itself (no second lookup an attacker's DNS
could answer differently) and never follows redirects.

Refused: anything but http(s) (https only in production), user-info in the URL, IP literals in any encoding other
than the canonical dotted quad / bracketed IPv6 (``2130706433``, ``0x7f.1``, ``0177.0.0.1``), and every address that
is not globally routable: private, shared (100.64/10), loopback (allowed only in the local stage, for the simulated
province), link-local, multicast, reserved, unspecified, IPv4-mapped forms of those, and the cloud metadata
addresses by name.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

METADATA_ADDRESSES = frozenset({
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure instance metadata
    ipaddress.ip_address("169.254.170.2"),  # ECS task metadata
    ipaddress.ip_address("fd00:ec2::254"),  # AWS IMDS over IPv6
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    ipaddress.ip_address("192.0.0.192"),  # Oracle Cloud
})
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$", re.IGNORECASE)
_DOTTED_QUAD = re.compile(r"^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
MAX_URL_LENGTH = 2048


class UrlRefusedError(ValueError):
    """The URL or the address it resolves to may not be called. ``code`` is stable, ``message`` Vietnamese."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # lower-case hostname, or the IP literal without brackets
    port: int
    path_and_query: str
    ip_literal: bool

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def parse_target(url: str, *, https_only: bool) -> Target:
    """Check the URL's shape and split it; the address is checked after resolution (``check_address``)."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH or any(c.isspace() for c in url):
        raise UrlRefusedError("URL_INVALID", "Địa chỉ URL không hợp lệ.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UrlRefusedError("URL_INVALID", "Địa chỉ URL không hợp lệ.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or (https_only and scheme != "https"):
        raise UrlRefusedError("URL_SCHEME_NOT_ALLOWED",
                              "Chỉ cho phép địa chỉ https." if https_only else "Chỉ cho phép địa chỉ http hoặc https.")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UrlRefusedError("URL_USERINFO_NOT_ALLOWED", "Địa chỉ URL không được chứa tên đăng nhập hoặc mật khẩu.")
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise UrlRefusedError("URL_INVALID", "Địa chỉ URL thiếu tên máy chủ.")
    ip_literal = False
    if ":" in host:  # bracketed IPv6 literal
        try:
            ipaddress.IPv6Address(host.split("%")[0])
        except ValueError:
            raise UrlRefusedError("URL_INVALID", "Địa chỉ IPv6 không hợp lệ.") from None
        ip_literal = True
    elif all(_NUMERIC_LABEL.fullmatch(label) for label in host.split(".")):
        # Looks numeric: only the canonical dotted quad is accepted; 2130706433, 0x7f.1, 0177.0.0.1 are refused
        # (resolvers read them as 127.0.0.1, and filters that compare text do not).
        if not _DOTTED_QUAD.fullmatch(host):
            raise UrlRefusedError("URL_IP_ENCODING_NOT_ALLOWED",
                                  "Địa chỉ IP phải viết dạng thập phân có dấu chấm (ví dụ 14.160.32.10).")
        ip_literal = True
    elif not _HOSTNAME.fullmatch(host):
        raise UrlRefusedError("URL_INVALID", "Tên máy chủ trong địa chỉ URL không hợp lệ.")
    port = port or (443 if scheme == "https" else 80)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(scheme, host, port, path, ip_literal)


def check_address(address: str, *, allow_loopback: bool) -> None:
    """Refuse any address that is not globally routable (loopback allowed only when ``allow_loopback``)."""
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        raise UrlRefusedError("URL_ADDRESS_INVALID", "Địa chỉ máy chủ không hợp lệ.") from None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in METADATA_ADDRESSES:
        raise UrlRefusedError("URL_ADDRESS_NOT_ALLOWED", "Không được gọi tới địa chỉ dịch vụ siêu dữ liệu (metadata).")
    if ip.is_loopback:
        if allow_loopback:
            return
        raise UrlRefusedError("URL_ADDRESS_NOT_ALLOWED", "Không được gọi tới địa chỉ nội bộ (loopback).")
    if ip.is_link_local:
        raise UrlRefusedError("URL_ADDRESS_NOT_ALLOWED", "Không được gọi tới địa chỉ link-local.")
    if ip.is_private or ip.is_multicast or ip.is_reserved or ip.is_unspecified or not ip.is_global:
        raise UrlRefusedError("URL_ADDRESS_NOT_ALLOWED", "Không được gọi tới địa chỉ mạng nội bộ hoặc dành riêng.")
