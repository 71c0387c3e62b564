"""Local development signing settings for the embedded stack's token issuer.

These values are public (they are in the repository). They exist so that `python -m chalicelib.local.token` and the
local API agree on how tokens are signed. Never configure a deployed stage with them: deployed stages verify Cognito
tokens against the user pool's JWKS instead.
"""

LOCAL_JWT_SECRET = "dev-only-local-jwt-secret-do-not-use-in-production-0001"
LOCAL_JWT_ISSUER = "http://127.0.0.1:8000/local-issuer"
LOCAL_JWT_AUDIENCE = "dvcqg-land-payments"
