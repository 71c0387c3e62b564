"""Staff sign-in and the staff home (web/screens.py runs JOURNEYS in order)."""
from __future__ import annotations

from chalicelib.local.identities import new_identity
from web import testing


def _sign_in(page, stack, shot) -> None:
    page.goto(stack.api_url + "/can-bo/dang-nhap.html")
    shot("can-bo-dang-nhap")
    operator = new_identity(stack.api_url, "operator")
    testing.sign_in_staff(page, stack.api_url, operator.login, operator.password)
    shot("can-bo-trang-chu")


JOURNEYS = [_sign_in]
