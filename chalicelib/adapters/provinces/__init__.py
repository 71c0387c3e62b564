"""The province one-stop API: an SSRF-guarded HTTP client and the credential store (session URL, then data URL)."""
