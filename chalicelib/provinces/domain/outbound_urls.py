"""Which URLs the server may call on an administrator's say-so (API check, province delivery): the SSRF rules.

Pure checks on a URL's shape and on resolved addresses; the adapter (``adapters/provinces/http.py``) resolves the
host, checks every address here, then connects to the checked address itself (no second lookup an attacker's DNS
could answer differently) and never follows redirects.

Refused: anything but http(s) (https only in production), user-info in the URL, IP literals in any encoding other
than the canonical dotted quad / bracketed IPv6 (``2130706433``, ``0x7f.1``, ``0177.0.0.1``), and every address that
is not globally routable: private, shared (100.64/10), loopback (allowed only in the local stage and only on the
simulated partners' ports), link-local, multicast, reserved, unspecified, the cloud metadata addresses by name, and
every IPv6 form that wraps one of those IPv4 addresses (IPv4-mapped ``::ffff:0:0/96``, IPv4-compatible ``::/96``,
6to4 ``2002::/16``, NAT64 ``64:ff9b::/96``, Teredo ``2001::/32``); the local-use NAT64 prefix ``64:ff9b:1::/48``
is refused whatever it wraps.
"""
from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection
from dataclasses import dataclass
from urllib.parse import urlsplit

METADATA_ADDRESSES = frozenset({
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure instance metadata
    ipaddress.ip_address("169.254.170.2"),  # ECS task metadata
    ipaddress.ip_address("fd00:ec2::254"),  # AWS IMDS over IPv6
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    ipaddress.ip_address("192.0.0.192"),  # Oracle Cloud
})
_LOOPBACK = frozenset({ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")})
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052 well-known prefix: the last 32 bits are the IPv4 address
_NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")  # RFC 8215
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated (RFC 4291)
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$", re.IGNORECASE)
_DOTTED_QUAD = re.compile(r"^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
MAX_URL_LENGTH = 2048


URL_RULES = ("URL_SCHEME_NOT_ALLOWED", "URL_ADDRESS_NOT_ALLOWED", "URL_ADDRESS_INVALID", "URL_HOST_UNRESOLVED")


class UrlRefusedError(ValueError):
    """The URL or the address it resolves to may not be called. ``code`` is stable, ``message`` Vietnamese."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message
        # Where the address leads (resolved, private, the stage's https-only) is beyond the URL's documented form
        # (core.fields.OutboundUrl): such a refusal answers its own code.
        self.rule = code in URL_RULES


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


def check_address(address: str, *, allow_loopback: bool, port: int | None = None,
                  allowed_loopback_ports: Collection[int] = ()) -> None:
    """Refuse any address that is not globally routable, and any IPv6 address that wraps one.

    Loopback (127.0.0.1 or ::1 exactly) is allowed only when ``allow_loopback`` (the local stages) AND ``port`` is
    one of ``allowed_loopback_ports`` (the simulated partners): any other local port may be the moto server, whose
    state (OTP texts included) must not be readable through an API check.
    """
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        raise UrlRefusedError("URL_ADDRESS_INVALID", "Địa chỉ máy chủ không hợp lệ.") from None
    if isinstance(ip, ipaddress.IPv6Address):
        ip = _unwrap(ip)
    if ip in METADATA_ADDRESSES:
        raise UrlRefusedError("URL_ADDRESS_NOT_ALLOWED", "Không được gọi tới địa chỉ dịch vụ siêu dữ liệu (metadata).")
    if ip.is_loopback:
        if allow_loopback and ip in _LOOPBACK and port is not None and port in allowed_loopback_ports:
            return
        raise UrlRefusedError("URL_ADDRESS_NOT_ALLOWED",
                              "Không được gọi tới địa chỉ nội bộ (loopback)" + (f" ở cổng {port}." if port else "."))
    if ip.is_link_local:
        raise UrlRefusedError("URL_ADDRESS_NOT_ALLOWED", "Không được gọi tới địa chỉ link-local.")
    if ip.is_private or ip.is_multicast or ip.is_reserved or ip.is_unspecified or not ip.is_global:
        raise UrlRefusedError("URL_ADDRESS_NOT_ALLOWED", "Không được gọi tới địa chỉ mạng nội bộ hoặc dành riêng.")


def wrapped_ipv4(ip: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...]:
    """The IPv4 addresses an IPv6 address carries: IPv4-mapped, IPv4-compatible, 6to4, NAT64 (well-known prefix),
    Teredo (server and client; the client is stored inverted). Empty for a plain IPv6 address."""
    if ip.ipv4_mapped is not None:
        return (ip.ipv4_mapped,)
    if ip.sixtofour is not None:
        return (ip.sixtofour,)
    if ip.teredo is not None:
        return ip.teredo
    if ip in _NAT64 or (ip in _IPV4_COMPATIBLE and int(ip) > 1):  # ::, ::1 are IPv6's own
        return (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF),)
    return ()


def _unwrap(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """Refuse an IPv6 address wrapping a non-global IPv4 address (loopback included, whatever the stage). A mapped
    or NAT64 address is the IPv4 host itself, so it is judged as that address; the others as themselves too."""
    if ip in _NAT64_LOCAL_USE:  # a private network's own translator: what it reaches is not ours to judge
        raise UrlRefusedError("URL_ADDRESS_NOT_ALLOWED",
                              "Không được gọi tới địa chỉ NAT64 dùng nội bộ (64:ff9b:1::/48).")
    for inner in wrapped_ipv4(ip):
        if inner in METADATA_ADDRESSES or not inner.is_global:
            raise UrlRefusedError("URL_ADDRESS_NOT_ALLOWED",
                                  f"Không được gọi tới địa chỉ IPv6 bao bọc địa chỉ IPv4 nội bộ hoặc dành riêng {inner}.")
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return wrapped_ipv4(ip)[0]
    return ip
