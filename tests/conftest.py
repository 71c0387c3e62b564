"""Shared fixtures. `stack` starts the real local stack in this test process (per xdist worker): a moto server over
HTTP with the resources of infra/resources.json, the Chalice app on a local HTTP server, the simulated bank and the
SQS poller. Tests talk to it with real HTTP and real boto3."""
from __future__ import annotations

import json
import time
import uuid

import pytest
import requests


def pytest_report_header(config):
    """The fuzz run's seed and size (tests/fuzz), so a failure in CI can be replayed: FUZZ_SEED=... make fuzz."""
    import os

    return (f"fuzz: FUZZ_SEED={os.environ.get('FUZZ_SEED', '20260520')} "
            f"FUZZ_CASES={os.environ.get('FUZZ_CASES', '2000')} per role")


@pytest.fixture(scope="session")
def stack():
    from chalicelib.local import stack as local_stack

    s = local_stack.start(stage="test")
    yield s
    s.stop()


@pytest.fixture()
def http():
    with requests.Session() as s:
        yield s


class Api:
    """Small client for the running stack: signed partner calls and citizen calls."""

    def __init__(self, stack, session: requests.Session) -> None:
        self.url, self.bank_url, self.s = stack.api_url, stack.bank_url, session
        self.secrets: dict[str, str] = {}  # payment id -> its access secret, as the payer's page keeps it

    def send_notices(self, payload: dict, secret: str | None = None, timestamp: int | None = None,
                     headers: dict | None = None, message_id: str | None = None) -> requests.Response:
        from chalicelib.core.webhooks import sign_webhook
        from chalicelib.local.devkeys import LOCAL_TAX_AUTHORITY_SECRET

        body = json.dumps(payload, ensure_ascii=False).encode()
        signed = sign_webhook(body, secret or LOCAL_TAX_AUTHORITY_SECRET, message_id or f"msg_{uuid.uuid4().hex}",
                              int(time.time()) if timestamp is None else timestamp)
        return self.s.post(f"{self.url}/v1/partners/notices", data=body,
                           headers={**signed, "Content-Type": "application/json", **(headers or {})}, timeout=10)

    def bank_callback(self, bank_code: str, payload: dict, secret: str | None = None,
                      timestamp: int | None = None, message_id: str | None = None) -> requests.Response:
        from chalicelib.core.webhooks import sign_webhook
        from chalicelib.local.devkeys import LOCAL_BANK_SECRETS

        body = json.dumps(payload).encode()
        signed = sign_webhook(body, secret or LOCAL_BANK_SECRETS[bank_code], message_id or f"msg_{uuid.uuid4().hex}",
                              int(time.time()) if timestamp is None else timestamp)
        return self.s.post(f"{self.url}/v1/partners/banks/{bank_code}/callbacks", data=body,
                           headers={**signed, "Content-Type": "application/json"}, timeout=20)

    def pay(self, dossier: str, notice_number: str, bank_code: str = "BIDV", key: str | None = None,
            id_number: str = "035095001234", token: str | None = None) -> requests.Response:
        headers = {"Idempotency-Key": key} if key else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        r = self.s.post(f"{self.url}/v1/payments", json={
            "dossier_code": dossier, "id_number": id_number, "notice_number": notice_number,
            "bank_code": bank_code, "return_url": "https://dichvucong.gov.vn/ket-qua"}, headers=headers, timeout=10)
        if r.status_code == 201:
            self.secrets[r.json()["payment_id"]] = r.json()["client_secret"]
        return r

    def access(self, payment_or_receipt_id: str) -> dict:
        """The X-Client-Secret header for a payment (or its receipt: RCP... is the payment's id re-prefixed)."""
        pid = "PAY" + payment_or_receipt_id[3:]
        return {"X-Client-Secret": self.secrets[pid]} if pid in self.secrets else {}

    def new_notice(self, amounts=(1_378_500, 2_450_000), **kw) -> tuple[str, str, dict]:
        from chalicelib.local.demo import demo_notice

        # Unique per test: the agency's level-3 part and the daily sequence are both random.
        dossier = f"000.00.{uuid.uuid4().int % 100:02d}.H35-260520-{uuid.uuid4().int % 10000:04d}"
        payload = demo_notice(dossier, amounts, **kw)
        r = self.send_notices(payload)
        assert r.status_code == 200, r.text
        return dossier, payload["notices"][0]["notice_number"], payload


@pytest.fixture()
def api(stack, http):
    return Api(stack, http)


def assert_problem(r: requests.Response, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"].startswith("application/problem+json"), r.headers
    body = r.json()
    assert body["code"] == code, body
    assert body["status"] == status
    assert body["title"] and body["type"]
    assert body["detail"] and any(ch in body["detail"] for ch in "ăâđêôơưáàảãạếềểễệốồổỗộớờởỡợ"), body["detail"]
    assert "Traceback" not in r.text
    return body
