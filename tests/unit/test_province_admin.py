"""M11 registry, M12 contacts and the API check's SSRF guard, in the production configuration (https only, no
loopback), through in-memory fakes and the real GuardedHttp with an injected resolver."""
from __future__ import annotations

import pytest

from chalicelib.core.errors import AppError
from chalicelib.provinces.adapters.http import GuardedHttp
from chalicelib.provinces.domain.outbound_urls import UrlRefusedError
from chalicelib.provinces.ports import Actor, HttpAnswer
from chalicelib.provinces.services import api_check
from chalicelib.provinces.services import registry as provinces
from tests.fakes_provinces import PROVINCE, make_province_services

OPERATOR = Actor("op-1", operator=True)
ADMIN_H35 = Actor("admin-h35", operator=False, province_claim="000.00.00.H35")
ADMIN_OTHER = Actor("admin-h49", operator=False, province_claim="22")


def _body(**over):
    return {"province_code": "12", "province_name": "Tỉnh Lai Châu", "unit_code": PROVINCE,
            "session_url": "https://motcua.hanam.gov.vn/api/session", "data_url": "https://motcua.hanam.gov.vn/api/tt",
            "credentials": {"username": "dvcqg", "password": "S3cret-pass!"}, **over}


def _refused(fn, status: int, code: str) -> AppError:
    with pytest.raises(AppError) as exc:
        fn()
    assert (exc.value.status, exc.value.code) == (status, code), exc.value
    return exc.value


# --- registry ----------------------------------------------------------------------------------------------------

def test_registry_create_update_list_disable_with_audit_and_no_credentials_out():
    psvc = make_province_services(register=False)
    created = provinces.put_api(psvc, OPERATOR, PROVINCE, "payment_result", _body())
    assert created["has_credentials"] is True and "credentials" not in created and "S3cret" not in str(created)
    assert psvc.credentials.get(PROVINCE, created and __import__("chalicelib.provinces.domain.delivery", fromlist=["ApiType"])
                                .ApiType.PAYMENT_RESULT).password == "S3cret-pass!"
    updated = provinces.put_api(psvc, ADMIN_H35, PROVINCE, "payment_result",
                                {k: v for k, v in _body(read_timeout_s=5).items() if k != "credentials"})
    assert updated["version"] == 2 and updated["read_timeout_s"] == 5 and updated["updated_by"] == "admin-h35"
    disabled = provinces.disable_api(psvc, OPERATOR, PROVINCE, "payment_result")
    assert disabled["active"] is False
    listed = provinces.list_apis(psvc, ADMIN_H35)
    assert [a["api_type"] for a in listed] == ["payment_result"] and "S3cret" not in str(listed)
    trail = provinces.audit_trail(psvc, OPERATOR, PROVINCE)
    assert [r["action"] for r in trail] == ["api_disabled", "api_updated", "api_created"]
    assert trail[2]["changes"]["credentials"] == "changed" and "S3cret" not in str(trail)
    assert trail[1]["changes"] == {"read_timeout_s": {"from": 10.0, "to": 5.0}} and trail[1]["by"] == "admin-h35"


def test_province_admin_manages_only_their_own_province():
    psvc = make_province_services()
    _refused(lambda: provinces.put_api(psvc, ADMIN_OTHER, PROVINCE, "notice", _body()), 403, "PROVINCE_FORBIDDEN")
    _refused(lambda: provinces.list_apis(psvc, ADMIN_OTHER, PROVINCE), 403, "PROVINCE_FORBIDDEN")
    _refused(lambda: provinces.delivery_stats(psvc, ADMIN_OTHER, PROVINCE), 403, "PROVINCE_FORBIDDEN")
    assert provinces.list_apis(psvc, ADMIN_OTHER) == []
    assert provinces.delivery_stats(psvc, Actor("x", False, "H35"), PROVINCE)["agency_code"] == PROVINCE


def test_first_registration_needs_credentials_and_production_urls_must_be_https():
    psvc = make_province_services(register=False)
    _refused(lambda: provinces.put_api(psvc, OPERATOR, PROVINCE, "notice", {**_body(), "credentials": None}),
             422, "VALIDATION_FAILED")
    # A URL outside the documented form is malformed (VALIDATION_FAILED); where a well-formed one leads (http in
    # production, a metadata, loopback or private address) is a rule with its own code.
    for url, code in (("http://motcua.hanam.gov.vn/x", "URL_SCHEME_NOT_ALLOWED"),
                      ("https://169.254.169.254/latest", "URL_ADDRESS_NOT_ALLOWED"),
                      ("https://2130706433/x", "VALIDATION_FAILED"), ("https://user:pw@motcua.hanam.gov.vn/x",
                                                                   "VALIDATION_FAILED"),
                      ("https://[::1]/x", "URL_ADDRESS_NOT_ALLOWED"), ("https://10.1.2.3/x", "URL_ADDRESS_NOT_ALLOWED")):
        err = _refused(lambda: provinces.put_api(psvc, OPERATOR, PROVINCE, "notice", _body(data_url=url)), 422, code)
        assert err.errors[0].field == "data_url", url
    _refused(lambda: provinces.put_api(psvc, OPERATOR, "000.00.43.H35", "notice", _body()), 422, "VALIDATION_FAILED")
    _refused(lambda: provinces.put_api(psvc, OPERATOR, PROVINCE, "fax", _body()), 422, "VALIDATION_FAILED")
    assert psvc.registry.apis == {} and psvc.credentials.store == {}


# --- contacts ----------------------------------------------------------------------------------------------------

def test_alert_contacts_normalised_listed_changed_removed_and_subscribed():
    psvc = make_province_services(register=False)
    stored = provinces.put_contacts(psvc, OPERATOR, PROVINCE, "land_tax_payment", {
        "phones": ["0912 345 678", "+84912345678", "84987654321"], "emails": ["Ops@HaNam.Example.VN"]})
    assert stored["phones"] == ["+84912345678", "+84987654321"]
    assert stored["emails"] == ["Ops@hanam.example.vn"] and stored["service_name"] == "Thanh toán thuế đất"
    assert psvc.alerts.subscribed == {"Ops@hanam.example.vn"}
    err = _refused(lambda: provinces.put_contacts(psvc, OPERATOR, PROVINCE, "land_tax_payment",
                                                  {"phones": ["0241234567"], "emails": ["a@b"]}), 422,
                   "VALIDATION_FAILED")
    assert {e.code for e in err.errors} == {"PHONE_INVALID", "EMAIL_INVALID"}
    assert provinces.get_contacts(psvc, OPERATOR, PROVINCE, "land_tax_payment")["phones"] == stored["phones"]
    provinces.put_contacts(psvc, OPERATOR, PROVINCE, "land_tax_payment", {"phones": ["0912345678"]})
    assert [c["phones"] for c in provinces.list_contacts(psvc, OPERATOR)] == [["+84912345678"]]
    provinces.delete_contacts(psvc, OPERATOR, PROVINCE, "land_tax_payment")
    _refused(lambda: provinces.get_contacts(psvc, OPERATOR, PROVINCE, "land_tax_payment"), 404,
             "ALERT_CONTACTS_NOT_FOUND")
    _refused(lambda: provinces.put_contacts(psvc, OPERATOR, PROVINCE, "other", {"phones": ["0912345678"]}),
             422, "VALIDATION_FAILED")
    actions = [r["action"] for r in provinces.audit_trail(psvc, OPERATOR, PROVINCE)]
    assert actions == ["contacts_removed", "contacts_updated", "contacts_created"]
    assert "0912345678" not in str(provinces.audit_trail(psvc, OPERATOR, PROVINCE))


# --- SSRF guard (production configuration) --------------------------------------------------------------------------

class _Resolver:
    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers, self.asked = answers, []

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        return self.answers[host]


def _prod_http(answers=None) -> GuardedHttp:
    return GuardedHttp(https_only=True, allow_loopback=False, resolver=_Resolver(answers or {}))


@pytest.mark.parametrize("url, code", [
    ("https://127.0.0.1/x", "URL_ADDRESS_NOT_ALLOWED"),
    ("https://[::1]/x", "URL_ADDRESS_NOT_ALLOWED"),
    ("https://169.254.169.254/latest/meta-data/", "URL_ADDRESS_NOT_ALLOWED"),
    ("https://[::ffff:169.254.169.254]/", "URL_ADDRESS_NOT_ALLOWED"),
    ("https://[fd00:ec2::254]/", "URL_ADDRESS_NOT_ALLOWED"),
    ("https://2130706433/", "URL_IP_ENCODING_NOT_ALLOWED"),
    ("https://0x7f000001/", "URL_IP_ENCODING_NOT_ALLOWED"),
    ("https://0177.0.0.1/", "URL_IP_ENCODING_NOT_ALLOWED"),
    ("https://10.0.0.5/", "URL_ADDRESS_NOT_ALLOWED"),
    ("https://192.168.1.1/", "URL_ADDRESS_NOT_ALLOWED"),
    ("http://motcua.example.vn/", "URL_SCHEME_NOT_ALLOWED"),
    ("file:///etc/passwd", "URL_SCHEME_NOT_ALLOWED"),
    ("https://admin:pw@motcua.example.vn/", "URL_USERINFO_NOT_ALLOWED"),
])
def test_ssrf_targets_are_refused_before_any_connection(url, code):
    with pytest.raises(UrlRefusedError) as exc:
        _prod_http().post_json(url, {}, {}, 1, 1)
    assert exc.value.code == code


def test_a_name_resolving_to_an_internal_address_is_refused_even_if_one_answer_is_public():
    http = _prod_http({"rebind.example.vn": ["14.160.32.10", "169.254.169.254"],
                       "internal.example.vn": ["10.0.0.7"]})
    for host in ("rebind.example.vn", "internal.example.vn"):
        with pytest.raises(UrlRefusedError) as exc:
            http.post_json(f"https://{host}/x", {}, {}, 1, 1)
        assert exc.value.code == "URL_ADDRESS_NOT_ALLOWED"


def test_api_check_refusals_are_problem_json_and_audited():
    psvc = make_province_services()
    psvc.http = _prod_http()
    err = _refused(lambda: api_check.check_url(psvc, OPERATOR, {
        "url": "https://169.254.169.254/latest/meta-data/iam", "api_type": "notice", "body": {},
        "agency_code": PROVINCE}), 422, "URL_ADDRESS_NOT_ALLOWED")
    assert "metadata" in err.detail
    record = psvc.registry.list_audit(PROVINCE)[0]
    assert record["action"] == "api_check_refused" and record["code"] == "URL_ADDRESS_NOT_ALLOWED"


def test_a_redirect_to_an_internal_address_is_shown_not_followed():
    psvc = make_province_services()
    calls = []

    class Redirecting:
        def post_json(self, url, payload, headers, connect_timeout_s, read_timeout_s, body_cap=1 << 20):
            calls.append(url)
            return HttpAnswer(302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b"", False, 3.0)

    psvc.http = Redirecting()
    result = api_check.check_url(psvc, OPERATOR, {"url": "https://motcua.example.vn/api", "api_type": "notice",
                                                  "body": {"a": 1}, "agency_code": PROVINCE})
    assert calls == ["https://motcua.example.vn/api"]  # one request: the Location was not fetched
    assert result["status"] == 302 and result["redirect_not_followed"] is True
    assert result["headers"]["Location"].startswith("http://169.254.169.254")
    assert psvc.registry.list_audit(PROVINCE)[0]["status"] == 302


def test_api_check_of_a_configured_api_uses_the_session_and_never_shows_the_token():
    psvc = make_province_services()
    result = api_check.check_configured(psvc, ADMIN_H35, PROVINCE, "notice", {"body": {"message_id": "check-1"}})
    assert result["session"]["token_received"] is True and "body" not in result["session"]
    assert "tok1" not in str(result)  # the fake province's token
    assert result["data"]["status"] == 200 and result["data"]["latency_ms"] >= 0
    assert psvc.registry.list_audit(PROVINCE)[0]["action"] == "api_check"
    _refused(lambda: api_check.check_configured(psvc, ADMIN_OTHER, PROVINCE, "notice", {"body": {}}), 403,
             "PROVINCE_FORBIDDEN")


# --- SSRF: IPv6 forms that wrap an IPv4 address, and loopback only on listed ports ---------------------------------

# (IPv6 address, the IPv4 address it wraps)
WRAPPED_INTERNAL = [
    ("2002:7f00:1::", "127.0.0.1"),  # 6to4
    ("2002:a9fe:a9fe::", "169.254.169.254"),
    ("2002:c0a8:101::", "192.168.1.1"),
    ("::ffff:7f00:1", "127.0.0.1"),  # IPv4-mapped, hex form
    ("::ffff:10.0.0.5", "10.0.0.5"),
    ("::127.0.0.1", "127.0.0.1"),  # IPv4-compatible (deprecated)
    ("::a9fe:a9fe", "169.254.169.254"),
    ("64:ff9b::7f00:1", "127.0.0.1"),  # NAT64, well-known prefix
    ("64:ff9b::a9fe:a9fe", "169.254.169.254"),
    ("64:ff9b::a00:5", "10.0.0.5"),
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "127.0.0.1"),  # Teredo: client = last 32 bits inverted
    ("2001:0:4136:e378:8000:63bf:5601:5601", "169.254.169.254"),
]


@pytest.mark.parametrize("address, wrapped", WRAPPED_INTERNAL)
def test_ipv6_literals_wrapping_an_internal_ipv4_address_are_refused(address, wrapped):
    with pytest.raises(UrlRefusedError) as exc:
        _prod_http().post_json(f"https://[{address}]/x", {}, {}, 1, 1)
    assert exc.value.code == "URL_ADDRESS_NOT_ALLOWED"
    assert wrapped in exc.value.message  # says which address it really is


@pytest.mark.parametrize("address, wrapped", WRAPPED_INTERNAL)
def test_names_resolving_to_an_ipv6_form_of_an_internal_address_are_refused(address, wrapped):
    http = _prod_http({"motcua.example.vn": [address]})
    with pytest.raises(UrlRefusedError) as exc:
        http.post_json("https://motcua.example.vn/x", {}, {}, 1, 1)
    assert exc.value.code == "URL_ADDRESS_NOT_ALLOWED" and wrapped in exc.value.message


@pytest.mark.parametrize("address", ["64:ff9b:1::a9fe:a9fe", "64:ff9b:1::ea0:200a"])
def test_local_use_nat64_prefix_is_refused_whatever_it_wraps(address):
    from chalicelib.provinces.domain.outbound_urls import check_address

    with pytest.raises(UrlRefusedError) as exc:
        check_address(address, allow_loopback=False)
    assert exc.value.code == "URL_ADDRESS_NOT_ALLOWED"


@pytest.mark.parametrize("address", ["64:ff9b::ea0:200a", "::ffff:14.160.32.10", "2002:ea0:200a::",
                                     "2404:6800:4005:80f::200e"])
def test_ipv6_forms_of_a_public_address_are_allowed(address):
    # NAT64 is how an IPv6-only subnet (DNS64) reaches an IPv4-only province server: judge it by what it wraps.
    from chalicelib.provinces.domain.outbound_urls import check_address

    check_address(address, allow_loopback=False)


def test_delivery_settings_list_no_loopback_port_by_default():
    from chalicelib.provinces.ports import DeliverySettings

    assert DeliverySettings().allowed_loopback_ports == ()


@pytest.mark.parametrize("url", ["http://127.0.0.1:5000/moto-api/data.json", "http://localhost:5000/",
                                 "http://[::1]:5000/", "http://127.0.0.1/", "http://127.0.0.2:8002/x"])
def test_loopback_is_refused_on_a_port_not_listed_even_on_the_local_stage(url):
    http = GuardedHttp(https_only=False, allow_loopback=True, allowed_loopback_ports=(8002, 8001),
                       resolver=_Resolver({"localhost": ["127.0.0.1", "::1"]}))
    with pytest.raises(UrlRefusedError) as exc:
        http.post_json(url, {}, {}, 1, 1)
    assert exc.value.code == "URL_ADDRESS_NOT_ALLOWED"


def test_loopback_on_a_listed_port_needs_the_local_stage_too():
    from chalicelib.provinces.domain.outbound_urls import check_address

    check_address("127.0.0.1", allow_loopback=True, port=8002, allowed_loopback_ports=(8002,))
    with pytest.raises(UrlRefusedError):
        check_address("127.0.0.1", allow_loopback=False, port=8002, allowed_loopback_ports=(8002,))
    with pytest.raises(UrlRefusedError):
        check_address("127.0.0.1", allow_loopback=True, allowed_loopback_ports=(8002,))  # no port: refused


def test_loopback_on_a_listed_port_is_called():
    import http.server
    import threading

    class Ok(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        http_client = GuardedHttp(https_only=False, allow_loopback=True, allowed_loopback_ports=(port,))
        assert http_client.post_json(f"http://127.0.0.1:{port}/tt", {"a": 1}, {}, 2, 2).status == 200
    finally:
        server.shutdown()
        server.server_close()


def test_delivery_stats_list_one_state_in_pages_within_scope():
    from chalicelib.provinces.domain.delivery import NOTICE, Delivery

    psvc = make_province_services()
    for n in range(3):
        psvc.deliveries.add_pending(Delivery(NOTICE, f"D{n}:TB{n}:v1", PROVINCE, {}), f"2026-05-20T10:0{n}:00+07:00")
    first = provinces.delivery_stats(psvc, ADMIN_H35, PROVINCE, "pending", None, 2, None)
    assert first["pending"] == 3 and first["state"] == "pending"
    assert [i["subject_id"] for i in first["items"]] == ["D2:TB2:v1", "D1:TB1:v1"]  # newest first
    rest = provinces.delivery_stats(psvc, ADMIN_H35, PROVINCE, "pending", None, 2, first["next_cursor"])
    assert [i["subject_id"] for i in rest["items"]] == ["D0:TB0:v1"] and "next_cursor" not in rest
    assert "items" not in provinces.delivery_stats(psvc, ADMIN_H35, PROVINCE)
    _refused(lambda: provinces.delivery_stats(psvc, ADMIN_H35, PROVINCE, "dead", None, 2, first["next_cursor"]),
             422, "CURSOR_INVALID")
    _refused(lambda: provinces.delivery_stats(psvc, ADMIN_OTHER, PROVINCE, "pending"), 403, "PROVINCE_FORBIDDEN")


def test_api_check_samples_are_the_portals_payloads_for_the_provinces_unit():
    from chalicelib.provinces.domain.delivery import SAMPLE_RECEIPT_ID

    psvc = make_province_services()
    got = {s["api_type"]: s for s in api_check.samples(psvc, ADMIN_H35, PROVINCE)["samples"]}
    assert list(got) == ["notice", "payment_result", "receipt_file"]
    assert got["payment_result"]["api_type_label"] == "API BNDP thanh toán thuế đất"
    pay = got["payment_result"]["body"]
    assert pay["message_id"] == f"{SAMPLE_RECEIPT_ID}:payment_result" and pay["status"] == 1
    assert pay["unit_code"] == psvc.registry.get_apis(PROVINCE)[next(iter(psvc.registry.get_apis(PROVINCE)))].unit_code
    assert got["receipt_file"]["body"]["content_type"] == "application/pdf" and "payer_phone" not in str(got)
    assert api_check.samples(psvc, OPERATOR, None)["samples"][0]["body"]["unit_code"] == "000.00.00.H00"
    _refused(lambda: api_check.samples(psvc, ADMIN_OTHER, PROVINCE), 403, "PROVINCE_FORBIDDEN")


def test_an_invalid_alert_phone_or_email_is_named_by_its_index():
    psvc = make_province_services()
    err = _refused(lambda: provinces.put_contacts(psvc, OPERATOR, PROVINCE, "land_tax_payment", {
        "phones": ["0912345601", "0987654321", "0123"], "emails": ["a@tinh.example.vn", "sai@"]}), 422,
        "VALIDATION_FAILED")
    assert [(e.field, e.code) for e in err.errors] == [("phones.2", "PHONE_INVALID"), ("emails.1", "EMAIL_INVALID")]
