"""The province use cases that run behind the internet-facing function send nothing themselves: secret writes, SNS
subscriptions, re-driven queue messages and alert SMS/emails are outbox intents committed with the change (the API
role may not write secrets, publish to phones or send to the queue: infra/iam.json). And what those intents carry
is right: versioned credentials that cannot roll back, alerts to the unit's contacts and the province's."""
from __future__ import annotations

import pytest

from chalicelib.core.errors import AppError
from chalicelib.outbox.services import send_all
from chalicelib.provinces.domain.delivery import AlertKind, ApiType, receipt_delivery
from chalicelib.provinces.ports import Actor
from chalicelib.provinces.services import api_check, recovery
from chalicelib.provinces.services import registry as provinces
from chalicelib.provinces.services.alerts import alert_province
from tests.fakes_provinces import PROVINCE, make_province_services, sample_receipt

OPERATOR = Actor("op-1", operator=True)


class _Forbidden:
    """A channel the request path must never touch."""

    def __getattr__(self, name):
        def refuse(*args, **kwargs):
            raise AssertionError(f"called {name} on the request path")
        return refuse


def _body(**over):
    return {"province_code": "12", "province_name": "Tỉnh Lai Châu", "unit_code": PROVINCE,
            "session_url": "https://motcua.hanam.gov.vn/api/session", "data_url": "https://motcua.hanam.gov.vn/api/tt",
            "credentials": {"username": "dvcqg", "password": "S3cret-pass!"}, **over}


def _intents(psvc, kind):
    """What was committed to the outbox (with the ids the store gave), oldest first."""
    return [v["intent"] for v in psvc.outbox.items.values() if v["intent"].kind == kind]


def _held(psvc):
    """Stop the outbox from sending at once (as if the stream consumer had not run yet)."""
    psvc.outbox.bind(None)
    return psvc


def test_put_api_writes_credentials_only_through_an_intent():
    psvc = _held(make_province_services(register=False))
    provinces.put_api(psvc, OPERATOR, PROVINCE, "notice", _body())
    assert psvc.credentials.store == {}  # nothing written on the request path
    intents = _intents(psvc, "store_credentials")
    assert [(i.payload["agency_code"], i.payload["api_type"], i.payload["version"]) for i in intents] == [
        (PROVINCE, "notice", 1)]
    assert "S3cret" not in intents[0].ref
    psvc.outbox.bind(psvc)
    assert psvc.outbox.retry() == 1
    stored = psvc.credentials.get(PROVINCE, ApiType.NOTICE)
    assert (stored.password, stored.version) == ("S3cret-pass!", 1)


def test_credentials_delivered_out_of_order_never_roll_back():
    psvc = _held(make_province_services(register=False))
    provinces.put_api(psvc, OPERATOR, PROVINCE, "notice", _body())
    provinces.put_api(psvc, OPERATOR, PROVINCE, "notice", _body(credentials={"username": "dvcqg",
                                                                              "password": "New-pass-2"}))
    first, second = _intents(psvc, "store_credentials")
    psvc.outbox.bind(psvc)
    assert send_all(psvc, [second, first]) == 2  # both handled...
    stored = psvc.credentials.get(PROVINCE, ApiType.NOTICE)
    assert (stored.password, stored.version) == ("New-pass-2", 2)  # ...the older one changed nothing
    assert psvc.credentials.writes == 1


def test_the_api_check_waits_for_new_credentials_instead_of_using_stale_ones():
    psvc = make_province_services()  # credentials of version 0 stored
    _held(psvc)
    provinces.put_api(psvc, OPERATOR, PROVINCE, "notice", _body())
    with pytest.raises(AppError) as exc:
        api_check.check_configured(psvc, OPERATOR, PROVINCE, "notice", {"body": {"a": 1}})
    assert (exc.value.status, exc.value.code) == (409, "CREDENTIALS_PENDING")
    assert psvc.http.session_calls == 0  # the old password was not sent


@pytest.mark.parametrize("new_session_url", [
    "https://evil.example.com/api/session",  # another host
    "https://motcua.hanam.gov.vn:8443/api/session",  # another port
])
def test_moving_the_session_url_to_another_server_requires_the_credentials_again(new_session_url):
    psvc = make_province_services(register=False)
    provinces.put_api(psvc, OPERATOR, PROVINCE, "notice", _body())
    without = {k: v for k, v in _body(session_url=new_session_url).items() if k != "credentials"}
    with pytest.raises(AppError) as exc:
        provinces.put_api(psvc, OPERATOR, PROVINCE, "notice", without)
    assert exc.value.status == 422 and exc.value.errors[0].code == "CREDENTIALS_REQUIRED_FOR_NEW_HOST"
    assert psvc.registry.apis[(PROVINCE, ApiType.NOTICE)].session_url == _body()["session_url"]
    same_host = {k: v for k, v in _body(session_url="https://motcua.hanam.gov.vn/v2/session").items()
                 if k != "credentials"}
    assert provinces.put_api(psvc, OPERATOR, PROVINCE, "notice", same_host)["version"] == 2  # same server: kept


def test_registering_contacts_subscribes_new_addresses_through_the_outbox():
    psvc = _held(make_province_services(register=False, alerts=_Forbidden()))
    provinces.put_contacts(psvc, OPERATOR, PROVINCE, "land_tax_payment",
                           {"phones": ["0912345678"], "emails": ["a@hanam.gov.vn", "b@hanam.gov.vn"]})
    provinces.put_contacts(psvc, OPERATOR, PROVINCE, "land_tax_payment",
                           {"phones": ["0912345678"], "emails": ["a@hanam.gov.vn", "c@hanam.gov.vn"]})
    subscribed = [i.payload["email"] for i in _intents(psvc, "subscribe_email")]
    assert subscribed == ["a@hanam.gov.vn", "b@hanam.gov.vn", "c@hanam.gov.vn"]  # each new address once


def test_redrive_queues_dead_deliveries_through_intents_committed_with_the_reset():
    psvc = _held(make_province_services(queue=None))
    from tests.fakes_provinces import FakeQueue

    queue = FakeQueue(psvc.clock)
    psvc = psvc.replace(queue=queue, forwarding=queue)
    psvc.outbox.bind(None)
    deliveries = [receipt_delivery(sample_receipt(n)) for n in (1, 2)]
    for d in deliveries:
        psvc.deliveries.add_pending(d, psvc.clock.now().isoformat())
        psvc.deliveries.records[d.subject_id]["state"] = "DEAD"
    result = recovery.redrive(psvc, OPERATOR, PROVINCE)
    assert result["redriven"] == 2 and queue.sent == 0  # nothing sent by the request itself
    assert sorted(i.payload["message"]["subject_id"] for i in _intents(psvc, "forward_delivery")) == sorted(
        d.subject_id for d in deliveries)
    psvc.outbox.bind(psvc)
    assert psvc.outbox.retry() == 2 and queue.sent == 2
    assert recovery.redrive(psvc, OPERATOR, PROVINCE)["redriven"] == 0  # no longer DEAD: nothing twice


def test_an_alert_reaches_the_provinces_contacts_and_its_units_contacts_once_each():
    psvc = make_province_services()
    district = "000.00.43.H35"
    psvc.registry.contacts[(district, "land_tax_payment")] = {"phones": ["+84912345001", "+84987654321"],
                                                             "emails": ["motcua.huyen@hanam.example.vn"]}
    psvc.registry.contacts[("000.00.43.H49", "land_tax_payment")] = {"phones": ["+84900000049"], "emails": []}
    assert alert_province(psvc, AlertKind.FAILING, PROVINCE, "HTTP_500")
    phones = sorted(p for p, _ in psvc.alerts.sms_sent)
    assert phones == ["+84912345001", "+84912345002", "+84987654321"]  # H49's contact is another province's
    [email] = psvc.alerts.emails
    assert sorted(email["recipients"]) == ["canhbao@hanam.example.vn", "motcua.huyen@hanam.example.vn"]
    [record] = psvc.registry.alerts[PROVINCE]
    assert (record["sms"], record["emails"]) == (3, 2)
    assert [k for k, _, _ in psvc.alerts.ops_alerts] == [AlertKind.FAILING.value]


def test_an_alert_sends_nothing_itself_a_failing_number_does_not_stop_the_others():
    class OneBadNumber:
        def __init__(self, real):
            self.real = real

        def send_sms(self, phone, text):
            if phone.endswith("001"):
                raise RuntimeError("SNS throttled")
            self.real.sms(phone, text)

    psvc = make_province_services()
    psvc = psvc.replace(sms=OneBadNumber(psvc.alerts))
    psvc.outbox.bind(psvc)
    assert alert_province(psvc, AlertKind.DEAD, PROVINCE, "HTTP_500")
    assert [p for p, _ in psvc.alerts.sms_sent] == ["+84912345002"]
    assert psvc.outbox.states("sms").count("PENDING") == 1  # the failed one waits for the sweeper
