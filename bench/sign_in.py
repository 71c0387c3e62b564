"""Sign-in latency and the cost of checking a token on every request, against the embedded moto server and its user
pool (the same code as in AWS: the pool's RS256 tokens, its JWKS, the directory table).

* ``sign_in``: ``POST /v1/auth/sign-in`` of a seeded citizen, invoked in process as Lambda would (API Gateway proxy
  event): the guard's read and conditional write, Cognito's AdminInitiateAuth, the guard released. p50/p95 and AWS
  calls per sign-in (every botocore client hooked, as in ``bench.awscalls``).
* ``verify``: the verifier the API uses on a citizen's access token: JWKS fetches (the first verification fetches
  the pool's keys once; ``jwks_fetches_after_first`` must be 0), the signature and claims check alone (µs), and with
  the directory check every request makes (one GetItem).

    python -m bench.sign_in [--n 200]
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import statistics
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGE = "local"
ID_NUMBER, PASSWORD = "001090099001", "BenchCitizen2026x"


def _percentile(values: list[float], q: int) -> float:
    return values[0] if len(values) == 1 else statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def _figures(values_ms: list[float]) -> dict:
    return {"n": len(values_ms), "p50_ms": round(statistics.median(values_ms), 3),
            "p95_ms": round(_percentile(values_ms, 95), 3), "mean_ms": round(statistics.fmean(values_ms), 3)}


class _JwksFetches:
    """Counts the JWKS downloads (PyJWKClient fetches through urllib)."""

    def __init__(self) -> None:
        self.count, self._original = 0, urllib.request.OpenerDirector.open

    def __enter__(self):
        fetches, original = self, self._original

        def counting_open(opener, request, *args, **kwargs):
            url = request if isinstance(request, str) else request.full_url
            if url.endswith("/.well-known/jwks.json"):
                fetches.count += 1
            return original(opener, request, *args, **kwargs)

        urllib.request.OpenerDirector.open = counting_open
        return self

    def __exit__(self, *exc) -> None:
        urllib.request.OpenerDirector.open = self._original


def _sign_ins(app, recorder, n: int) -> dict:
    from .lambda_proxy import LambdaContext, proxy_event

    times, calls = [], Counter()
    body = {"id_number": ID_NUMBER, "password": PASSWORD}
    for i in range(n + 10):
        event = proxy_event("POST", "/v1/auth/sign-in", None, body, {})
        recorder.reset()
        t0 = time.perf_counter()
        response = app(event, LambdaContext())
        elapsed = (time.perf_counter() - t0) * 1000
        if response["statusCode"] != 200:
            raise RuntimeError(f"sign-in answered {response['statusCode']}: {response.get('body', '')[:300]}")
        if i >= 10:  # after a short warm-up
            times.append(elapsed)
            calls.update(f"{c.service}.{c.operation}" for c in recorder.calls)
    token = json.loads(response["body"])["access_token"]
    return {**_figures(times), "aws_calls_by_api": {k: round(v / n, 3) for k, v in sorted(calls.items())}}, token


def _verifications(token: str, recorder, n: int) -> dict:
    from chalicelib.bootstrap import context, make_token_verifier

    signature_only = make_token_verifier(context().settings)  # a fresh verifier: nothing cached yet
    checked = context().verifier
    with _JwksFetches() as fetches:
        signature_only.verify(token)
        first = fetches.count  # one download of the pool's keys
        t_sig = []
        for _ in range(n):
            t0 = time.perf_counter()
            signature_only.verify(token)
            t_sig.append((time.perf_counter() - t0) * 1e6)
        in_signature_loop = fetches.count - first
        checked.verify(token)  # the API's own verifier (a container's first request downloads the keys once)
        warm = fetches.count
        t_full, calls = [], Counter()
        for _ in range(n):
            recorder.reset()
            t0 = time.perf_counter()
            checked.verify(token)
            t_full.append((time.perf_counter() - t0) * 1000)
            calls.update(f"{c.service}.{c.operation}" for c in recorder.calls)
        after = in_signature_loop + (fetches.count - warm)
    return {"jwks_fetches_first_verification": first, "jwks_fetches_after_first": after,
            "signature_and_claims_p50_us": round(statistics.median(t_sig), 1),
            "signature_and_claims_p95_us": round(_percentile(t_sig, 95), 1),
            "with_directory_check": _figures(t_full),
            "aws_calls_per_request": {k: round(v / n, 3) for k, v in sorted(calls.items())}}


def _attach_identity_clients(recorder) -> None:
    """The clients the seeding created already (the pool's, the directory table's): hook them too."""
    from chalicelib.aws.clients import client
    from chalicelib.aws.tables import directory_model
    from chalicelib.config import get_settings

    settings = get_settings()
    recorder.attach(client("cognito-idp", settings.region))
    recorder.attach(directory_model(settings)._get_connection().connection.client)


def run(n: int) -> dict:
    for name, value in (("POWERTOOLS_LOG_LEVEL", "WARNING"), ("LOG_LEVEL", "WARNING"),
                        ("POWERTOOLS_METRICS_DISABLED", "true")):
        os.environ[name] = value
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from chalicelib.local.stack import configure_environment, provision, start_moto

    moto, endpoint = start_moto()
    try:
        configure_environment(endpoint, STAGE, provision(endpoint, STAGE), bank_url="http://127.0.0.1:9")
        with contextlib.redirect_stdout(io.StringIO()):
            import app as app_module
            from chalicelib.local.identities import seed_citizen

            from .awscalls import CallRecorder

            seed_citizen(ID_NUMBER, PASSWORD)
            recorder = CallRecorder()
            recorder.hook_new_clients()
            recorder.attach_app_clients()
            _attach_identity_clients(recorder)
            try:
                sign_in, token = _sign_ins(app_module.app, recorder, n)
                verify = _verifications(token, recorder, n)
            finally:
                recorder.stop_hooking_new_clients()
        return {"sign_in": {"route": "POST /v1/auth/sign-in", **sign_in}, "verify": verify}
    finally:
        moto.stop()


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200)
    args = ap.parse_args(argv)
    print(json.dumps(run(args.n), indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
