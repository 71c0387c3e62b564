"""GET /v1/banks as the payment page needs it: every bank of the code table, names as people read them, and single
sign-on from the stage's settings (not from the data)."""
from __future__ import annotations

from chalicelib.config import Settings
from chalicelib.core.banks import bank_registry
from chalicelib.payments.schemas import BankList
from chalicelib.payments.services.banks import list_banks
from tests.fakes import make_services


def test_every_bank_in_code_table_order_with_names():
    answer = list_banks(make_services())
    BankList.model_validate(answer)
    assert [b["code"] for b in answer["banks"]] == list(bank_registry())
    vcb = answer["banks"][0]
    assert vcb["short_name"] == "Vietcombank"
    assert vcb["name"] == "Ngân hàng TMCP Ngoại thương Việt Nam (Vietcombank)"


def test_single_sign_on_follows_the_settings():
    default = {b["code"]: b["single_sign_on"] for b in list_banks(make_services())["banks"]}
    assert default == {"VCB": True, "ICB": False, "BIDV": False, "VBA": False, "MB": False}
    configured = make_services(settings=Settings(sso_banks=("BIDV", "MB")))
    assert [b["code"] for b in list_banks(configured)["banks"] if b["single_sign_on"]] == ["BIDV", "MB"]
