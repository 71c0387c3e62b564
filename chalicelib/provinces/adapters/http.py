"""HTTP to provinces (deliveries and API checks) behind the SSRF guard of ``domain.outbound_urls``.

The host is resolved here, every address checked, and the connection made to the checked address (the Host header
and TLS SNI/certificate check use the name), so a DNS answer cannot change between check and use. Redirects are
never followed, nothing is retried here (the queue retries), timeouts are short, bodies are read up to a cap.
Connection pools are kept per container, so deliveries to one province reuse their keep-alive connections.
"""
from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any, Callable, Iterable

from chalicelib.provinces.domain.outbound_urls import Target, UrlRefusedError, check_address, parse_target
from chalicelib.provinces.ports import HttpAnswer, ProvinceCallError

Resolver = Callable[[str, int], list[str]]
USER_AGENT = "DVCQG-LandPayments/1.0"


def system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise UrlRefusedError("URL_HOST_UNRESOLVED", "Không phân giải được tên máy chủ.") from None
    return list(dict.fromkeys(info[4][0] for info in infos))


class GuardedHttp:
    def __init__(self, *, https_only: bool, allow_loopback: bool, resolver: Resolver = system_resolver,
                 dns_cache_s: float = 60.0, pool_size: int = 10, allowed_loopback_ports: Iterable[int] = ()) -> None:
        self.https_only, self.allow_loopback = https_only, allow_loopback
        # Loopback only on these ports (the simulated partners), and only where allow_loopback (the local stages).
        self.allowed_loopback_ports = frozenset(allowed_loopback_ports)
        self._resolver, self._dns_cache_s, self._pool_size = resolver, dns_cache_s, pool_size
        self._dns: dict[tuple[str, int], tuple[float, str]] = {}
        self._pools: dict[tuple, Any] = {}
        self._lock = threading.Lock()

    def _address(self, target: Target) -> str:
        if target.ip_literal:
            self._check(target.host, target.port)
            return target.host
        key = (target.host, target.port)
        hit = self._dns.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        addresses = self._resolver(target.host, target.port)
        if not addresses:
            raise UrlRefusedError("URL_HOST_UNRESOLVED", "Không phân giải được tên máy chủ.")
        for address in addresses:  # every answer must be allowed: no mixing a public and a private address
            self._check(address, target.port)
        self._dns[key] = (time.monotonic() + self._dns_cache_s, addresses[0])
        return addresses[0]

    def _check(self, address: str, port: int) -> None:
        check_address(address, allow_loopback=self.allow_loopback, port=port,
                      allowed_loopback_ports=self.allowed_loopback_ports)

    def _pool(self, target: Target, address: str):
        import urllib3

        key = (target.scheme, address, target.port, target.host)
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                host = address.split("%")[0]
                if target.scheme == "https":
                    pool = urllib3.HTTPSConnectionPool(host, target.port, maxsize=self._pool_size, block=False,
                                                       server_hostname=target.host, assert_hostname=target.host,
                                                       cert_reqs="CERT_REQUIRED", retries=False)
                else:
                    pool = urllib3.HTTPConnectionPool(host, target.port, maxsize=self._pool_size, block=False,
                                                      retries=False)
                self._pools[key] = pool
            return pool

    def post_json(self, url: str, payload: Any, headers: dict[str, str], connect_timeout_s: float,
                  read_timeout_s: float, body_cap: int = 1 << 20, raw_body: bytes | None = None) -> HttpAnswer:
        """``raw_body``: send these bytes as the JSON body (a caller that signed them), instead of ``payload``."""
        import urllib3
        from urllib3.exceptions import HTTPError
        from urllib3.exceptions import TimeoutError as Urllib3Timeout

        target = parse_target(url, https_only=self.https_only)
        pool = self._pool(target, self._address(target))
        body = raw_body if raw_body is not None else json.dumps(payload, ensure_ascii=False).encode("utf-8")
        all_headers = {"Host": target.host_header, "Content-Type": "application/json; charset=utf-8",
                       "Accept": "application/json", "User-Agent": USER_AGENT, **headers}
        started = time.perf_counter()
        try:
            response = pool.urlopen("POST", target.path_and_query, body=body, headers=all_headers, redirect=False,
                                    retries=False, assert_same_host=False, preload_content=False,
                                    timeout=urllib3.Timeout(connect=connect_timeout_s, read=read_timeout_s))
            data = response.read(body_cap + 1)
            truncated = len(data) > body_cap
            if truncated:
                response.close()  # do not read the rest of a huge answer
            else:
                response.release_conn()
        except Urllib3Timeout:
            raise ProvinceCallError("TIMEOUT", "quá thời gian chờ", unavailable=True) from None
        except HTTPError as exc:
            raise ProvinceCallError("CONNECTION_FAILED", type(exc).__name__, unavailable=True) from None
        latency = (time.perf_counter() - started) * 1000
        return HttpAnswer(response.status, dict(response.headers.items()), data[:body_cap], truncated, latency)
