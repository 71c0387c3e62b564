"""Staff sign-in in a real browser: the sign-in page (wrong password answered beside the form, the first sign-in's
new password), the local stack's demo-role buttons, the staff home's menu by role, the return to the page that
asked, sign-out, and that no token ever appears in a URL."""
from __future__ import annotations

import pytest
import requests

from chalicelib.local.identities import new_identity
from web import testing


def _menu(page) -> list[str]:
    return page.locator("#chuc-nang > li:not([hidden]) h2").all_inner_texts()


def test_officer_signs_in_and_sees_the_desk_menu(browsing, site, stack):
    page, watch = browsing
    officer = new_identity(stack.api_url, "officer", unit="000.00.15.H35")
    page.goto(f"{site}/can-bo/dang-nhap.html")
    assert testing.axe_violations(page) == []
    page.get_by_label("Tên đăng nhập", exact=True).fill(officer.login)
    page.get_by_label("Mật khẩu", exact=True).fill("sai-mat-khau-1")
    watch.expect_failed(401)
    page.get_by_role("button", name="Đăng nhập", exact=True).click()
    page.get_by_text("Tên đăng nhập hoặc mật khẩu không đúng.").wait_for()
    page.get_by_label("Mật khẩu", exact=True).fill(officer.password)
    page.get_by_role("button", name="Đăng nhập", exact=True).click()
    page.wait_for_url(f"{site}/can-bo/index.html")
    page.get_by_text(f"Đăng nhập với tên {officer.login}").wait_for()
    assert _menu(page) == ["Tạo tài khoản cho công dân", "Tài khoản đã tạo"]
    assert testing.axe_violations(page) == []
    page.get_by_role("button", name="Đăng xuất").click()
    page.wait_for_url(f"{site}/can-bo/dang-nhap.html")
    watch.assert_clean()


def test_a_signed_out_visit_comes_back_after_sign_in(desktop, site, stack):
    page, watch = desktop
    operator = new_identity(stack.api_url, "operator")
    page.goto(f"{site}/can-bo/index.html")
    page.wait_for_url(f"{site}/can-bo/dang-nhap.html?tiep=%2Fcan-bo%2Findex.html")
    testing.sign_in_staff(page, site, operator.login, operator.password, then="/can-bo/index.html")
    assert "Đối soát và hoàn tiền" in _menu(page)
    assert watch.urls and all("eyJ" not in url and "token" not in url for url in watch.urls), "a token in a URL"
    watch.assert_clean()


def test_the_sign_in_page_never_follows_a_return_to_another_site(desktop, site, stack):
    page, watch = desktop
    admin = new_identity(stack.api_url, "province_admin", province="H35")
    testing.sign_in_staff(page, site, admin.login, admin.password, then=None)
    page.goto(f"{site}/can-bo/dang-nhap.html?tiep=//evil.example/x")
    page.get_by_label("Tên đăng nhập", exact=True).fill(admin.login)
    page.get_by_label("Mật khẩu", exact=True).fill(admin.password)
    page.get_by_role("button", name="Đăng nhập", exact=True).click()
    page.wait_for_url(f"{site}/can-bo/index.html")
    watch.assert_clean()


def test_first_sign_in_sets_a_new_password(desktop, site, stack):
    page, watch = desktop
    staff = new_identity(stack.api_url, "operator")
    from chalicelib.bootstrap import context

    context().users.admin_set_password(staff.login, "TamThoi2026x", permanent=False)
    page.goto(f"{site}/can-bo/dang-nhap.html")
    page.get_by_label("Tên đăng nhập", exact=True).fill(staff.login)
    page.get_by_label("Mật khẩu", exact=True).fill("TamThoi2026x")
    page.get_by_role("button", name="Đăng nhập", exact=True).click()
    page.get_by_role("heading", name="Đặt mật khẩu mới").wait_for()
    assert testing.axe_violations(page) == []
    page.get_by_label("Mật khẩu mới", exact=True).fill("MoiHon2026abc")
    page.get_by_label("Nhập lại mật khẩu mới").fill("KhacHan2026abc")
    page.get_by_role("button", name="Đặt mật khẩu và đăng nhập").click()
    page.get_by_text("Hai lần nhập mật khẩu mới không khớp.").wait_for()
    page.get_by_label("Nhập lại mật khẩu mới").fill("MoiHon2026abc")
    page.get_by_role("button", name="Đặt mật khẩu và đăng nhập").click()
    page.wait_for_url(f"{site}/can-bo/index.html")
    r = requests.post(f"{stack.api_url}/v1/auth/staff/sign-in",
                      json={"username": staff.login, "password": "MoiHon2026abc"}, timeout=20)
    assert r.status_code == 200 and r.json()["must_change_password"] is False
    watch.assert_clean()


@pytest.mark.parametrize("role,card", [("province_admin", "Danh mục API và kiểm tra API"),
                                       ("operator", "Đối soát và hoàn tiền")])
def test_local_demo_buttons_sign_the_seeded_users_in(desktop, site, role, card):
    from chalicelib.local import identities

    identities.seed_demo_users()  # what `make run` does at start (the test stage leaves it out)
    page, watch = desktop
    page.goto(f"{site}/can-bo/dang-nhap.html")
    page.locator(f"#vai-tro-thu [data-role={role}]").click()
    page.wait_for_url(f"{site}/can-bo/index.html")
    assert card in _menu(page)
    watch.assert_clean()
