"""The embedded stack's documented dev values: partner and bank secrets, the ID-number HMAC key, the simulated
province's login and the demo users of each role in the local user pool.

These values are public (they are in the repository); nothing of a deployed stage uses them. Tokens are never
minted here: `make token ROLE=...` signs a seeded demo user in through the pool (chalicelib.local.token).
"""

# Partner and bank secrets of the local stack (documented in the README; the simulated partners use them).
LOCAL_TAX_AUTHORITY_SECRET = "whsec_ZGV2LW9ubHktdGF4LWF1dGhvcml0eS13ZWJob29rLWtleQ=="
LOCAL_BANK_SECRETS = {
    "VCB": "whsec_ZGV2LW9ubHktdmNiLWNhbGxiYWNrLXNlY3JldC0wMDE=",
    "ICB": "whsec_ZGV2LW9ubHktaWNiLWNhbGxiYWNrLXNlY3JldC0wMDE=",
    "BIDV": "whsec_ZGV2LW9ubHktYmlkdi1jYWxsYmFjay1zZWNyZXQtMDE=",
    "VBA": "whsec_ZGV2LW9ubHktdmJhLWNhbGxiYWNrLXNlY3JldC0wMDE=",
}
# A province's own one-stop software may send the notices of its province only (the tax authority sends for all).
LOCAL_PROVINCE_PARTNER = "motcua-quang-ninh"
LOCAL_PROVINCE_PARTNER_SECRET = "whsec_ZGV2LW9ubHktcXVhbmctbmluaC1tb3RjdWEta2V5LTAx"
LOCAL_PROVINCE_PARTNER_PROVINCES = ["000.00.00.H49"]
LOCAL_VNPAY_HASH_SECRET = "DEVONLYVNPAYHASHSECRET0000000001"
LOCAL_ID_HASH_KEY = "dev-only-id-number-hmac-key-0001"


def local_app_secret() -> dict:
    """The JSON stored in the local secret store under lfo/<stage>/app-secrets."""
    return {
        "id_hash_key": LOCAL_ID_HASH_KEY,
        "partners": {"tax-authority": [LOCAL_TAX_AUTHORITY_SECRET],
                     LOCAL_PROVINCE_PARTNER: {"secrets": [LOCAL_PROVINCE_PARTNER_SECRET],
                                              "provinces": LOCAL_PROVINCE_PARTNER_PROVINCES}},
        "banks": {code: [secret] for code, secret in LOCAL_BANK_SECRETS.items()},
        "vnpay_hash_secret": LOCAL_VNPAY_HASH_SECRET,
    }

# The simulated province's one login (accepted for every province it simulates); stored per province and API type
# in the local Secrets Manager by the local stack, as production stores the real ones.
LOCAL_PROVINCE_USERNAME = "dvcqg-local"
LOCAL_PROVINCE_PASSWORD = "dev-only-province-password-0001"
# Provinces the local stack registers against the simulated province: agency code -> (statistics code, name).
LOCAL_PROVINCES = {
    "000.00.00.H35": ("12", "Tỉnh Lai Châu"),  # agency <-> statistics codes as chalicelib/core/admin_units has them
    "000.00.00.H49": ("22", "Tỉnh Quảng Ninh"),
}
LOCAL_ALERT_CONTACTS = {"phones": ["0912345001", "0912345002"], "emails": ["canhbao@hanam.example.vn"]}

# Demo users of the local user pool, seeded when the stack starts (chalicelib.local.identities): role -> sign-in
# name (staff user name, or the citizen's ID number) and password. The officer holds the right in the demo unit.
LOCAL_DEMO_PASSWORD = "DemoLocal2026x"
LOCAL_DEMO_UNIT = ("000.00.15.H35", "Trung tâm Phục vụ hành chính công tỉnh Hà Nam")
LOCAL_DEMO_USERS = {
    "citizen": "035095001234",
    "officer": "demo-officer",
    "province_admin": "demo-province-admin",
    "operator": "demo-operator",
}
LOCAL_DEMO_PROVINCE = "000.00.00.H35"
