"""Issue 8 §6 over HTTP on the local stack: a citizen pays through the anonymous lookup with their own ID number, and
their signed-in history then shows that payment (newest first, with the one they made signed in, across pages);
another citizen's history does not, and a citizen whose ID number is another does not either."""
from __future__ import annotations

import uuid

from tests.conftest import assert_problem
from tests.e2e.test_accounts_journey import identity


def _notice_for(api, id_number: str) -> tuple[str, str]:
    from chalicelib.local.demo import demo_notice

    dossier = f"000.00.{uuid.uuid4().int % 100:02d}.H35-260520-{uuid.uuid4().int % 10000:04d}"
    payload = demo_notice(dossier) | {"id_number": id_number}
    r = api.send_notices(payload)
    assert r.status_code == 200, r.text
    return dossier, payload["notices"][0]["notice_number"]


def _history(api, headers: dict, limit: int = 1) -> list[str]:
    seen, cursor = [], None
    while True:
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        r = api.s.get(f"{api.url}/v1/citizens/me/transactions", params=params, headers=headers)
        assert r.status_code == 200, r.text
        seen += [t["payment_id"] for t in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return seen


def test_a_payment_made_anonymously_with_my_id_number_is_in_my_history(api):
    citizen, other = identity(api.url, "citizen"), identity(api.url, "citizen")
    dossier, number = _notice_for(api, citizen.login)
    signed_in = api.pay(dossier, number, "BIDV", id_number=citizen.login, token=citizen.access_token)
    assert signed_in.status_code == 201, signed_in.text
    assert api.s.post(f"{api.url}/v1/payments/{signed_in.json()['payment_id']}/cancel",
                      headers={**citizen.headers, **api.access(signed_in.json()["payment_id"])}).status_code == 200  # frees the notice for the anonymous payment
    anonymous = api.pay(dossier, number, "BIDV", id_number=citizen.login)  # no token: the lookup's ID number
    assert anonymous.status_code == 201, anonymous.text

    mine = _history(api, citizen.headers)  # one a page: the composite cursor walks both partitions
    assert mine == [anonymous.json()["payment_id"], signed_in.json()["payment_id"]]
    assert _history(api, other.headers) == []

    first = api.s.get(f"{api.url}/v1/citizens/me/transactions", params={"limit": 1}, headers=citizen.headers).json()
    r = api.s.get(f"{api.url}/v1/citizens/me/transactions", params={"cursor": first["next_cursor"]},
                  headers=other.headers)
    assert_problem(r, 422, "CURSOR_INVALID")  # my position is never followed into my partitions by someone else
