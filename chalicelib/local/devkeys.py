"""Local development signing settings for the embedded stack's token issuer.

These values are public (they are in the repository). They exist so that `python -m chalicelib.local.token` and the
local API agree on how tokens are signed. Never configure a deployed stage with them: deployed stages verify Cognito
tokens against the user pool's JWKS instead.
"""

from chalicelib.identity.adapters import LOCAL_JWT_AUDIENCE, LOCAL_JWT_ISSUER, LOCAL_JWT_SECRET  # noqa: F401

# Partner and bank secrets of the local stack (documented in the README; the simulated partners use them).
LOCAL_TAX_AUTHORITY_SECRET = "whsec_ZGV2LW9ubHktdGF4LWF1dGhvcml0eS13ZWJob29rLWtleQ=="
LOCAL_BANK_SECRETS = {
    "VCB": "whsec_ZGV2LW9ubHktdmNiLWNhbGxiYWNrLXNlY3JldC0wMDE=",
    "ICB": "whsec_ZGV2LW9ubHktaWNiLWNhbGxiYWNrLXNlY3JldC0wMDE=",
    "BIDV": "whsec_ZGV2LW9ubHktYmlkdi1jYWxsYmFjay1zZWNyZXQtMDE=",
    "VBA": "whsec_ZGV2LW9ubHktdmJhLWNhbGxiYWNrLXNlY3JldC0wMDE=",
}
LOCAL_VNPAY_HASH_SECRET = "DEVONLYVNPAYHASHSECRET0000000001"
LOCAL_ID_HASH_KEY = "dev-only-id-number-hmac-key-0001"
# The simulated tax authority's gateway (M13 lookups, payment notices, daily receipt reports): the portal signs its
# requests with the first, the tax authority its answers with the second.
LOCAL_TAX_AUTHORITY_REQUEST_SECRET = "whsec_ZGV2LW9ubHktcG9ydGFsLXRvLXRheC1hdXRob3JpdHkta2V5MDE="
LOCAL_TAX_AUTHORITY_ANSWER_SECRET = "whsec_ZGV2LW9ubHktdGF4LWF1dGhvcml0eS1hbnN3ZXIta2V5LTAwMQ=="
LOCAL_SMS_GATEWAY_SECRET = "whsec_ZGV2LW9ubHktc21zLWdhdGV3YXktaW5ib3VuZC1rZXktMDAwMQ=="  # inbound SMS (opt-out keywords) from the SMS gateway


def local_app_secret() -> dict:
    """The JSON stored in the local secret store under lfo/<stage>/app-secrets."""
    return {
        "id_hash_key": LOCAL_ID_HASH_KEY,
        "partners": {"tax-authority": [LOCAL_TAX_AUTHORITY_SECRET]},
        "banks": {code: [secret] for code, secret in LOCAL_BANK_SECRETS.items()},
        "vnpay_hash_secret": LOCAL_VNPAY_HASH_SECRET,
        "local_jwt_secret": LOCAL_JWT_SECRET,
        "tax_authority": {"request_secret": LOCAL_TAX_AUTHORITY_REQUEST_SECRET,
                          "answer_secrets": [LOCAL_TAX_AUTHORITY_ANSWER_SECRET]},
        "sms_gateway": [LOCAL_SMS_GATEWAY_SECRET],
    }

# The simulated province's one login (accepted for every province it simulates); stored per province and API type
# in the local Secrets Manager by the local stack, as production stores the real ones.
LOCAL_PROVINCE_USERNAME = "dvcqg-local"
LOCAL_PROVINCE_PASSWORD = "dev-only-province-password-0001"
# Provinces the local stack registers against the simulated province: agency code -> (statistics code, name).
LOCAL_PROVINCES = {
    "000.00.00.H35": ("35", "Tỉnh Ninh Bình (địa bàn Hà Nam cũ)"),
    "000.00.00.H49": ("22", "Tỉnh Quảng Ninh"),
}
LOCAL_ALERT_CONTACTS = {"phones": ["0912345001", "0912345002"], "emails": ["canhbao@hanam.example.vn"]}
