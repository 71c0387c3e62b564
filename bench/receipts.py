"""Receipt issuance with signing (issue 12): the bank callback that issues a receipt, with the collecting
organisation's XML signature in it, against the same callback with the signing replaced by a stand-in that returns
an already signed document at no cost; plus signing throughput per core, and what the lazy PDF costs when it is made.

Each journey is intake -> initiate (not timed) -> bank callback (timed), an in-process Lambda invocation of the app
against its own moto server; signed and unsigned callbacks alternate, so both see the same tables and the same
machine load. Throughput: ``ReceiptSigner.sign`` of one receipt in a loop on one thread for ``seconds``.

    python -m bench.receipts [--n 300]
"""
from __future__ import annotations

import contextlib
import io
import os
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGE = "bench"
TARGET_RATIO_MAX = 1.5


def _percentile(values: list[float], q: int) -> float:
    return values[0] if len(values) == 1 else statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def _figures(ms: list[float]) -> dict:
    return {"n": len(ms), "p50_ms": round(statistics.median(ms), 3), "p95_ms": round(_percentile(ms, 95), 3),
            "mean_ms": round(statistics.fmean(ms), 3)}


class _Presigned:
    """The signing port without the signing: hands back one signed document (the receipt's XML is not rebuilt)."""

    def __init__(self, real, document: bytes) -> None:
        self._real, self._document = real, document
        self.signer_name = "bench"

    def sign_xml(self, receipt) -> bytes:
        return self._document

    def __getattr__(self, name):
        return getattr(self._real, name)


def _invoke(app, request) -> None:
    from .lambda_proxy import LambdaContext

    response = app(request.event, LambdaContext())
    if response.get("statusCode") != request.expected_status:
        raise RuntimeError(f"{request.event['path']}: {response.get('statusCode')} {response.get('body', '')[:300]}")
    import json

    request.on_success(json.loads(response["body"]) if response.get("body") else {})


def _journeys(app, ctx, n: int, warmup: int) -> dict[str, list[float]]:
    from .operations import Pipeline

    pipe = Pipeline()
    real = ctx.receipt_signing
    times: dict[str, list[float]] = {"signed": [], "unsigned": []}
    presigned = None
    for i in range(2 * (warmup + n)):
        mode = "signed" if i % 2 == 0 else "unsigned"
        _invoke(app, pipe.intake())
        _invoke(app, pipe.initiate())
        request = pipe.bank_result()
        ctx.__dict__["receipt_signing"] = real if mode == "signed" or presigned is None else presigned
        t0 = time.perf_counter()
        _invoke(app, request)
        elapsed = (time.perf_counter() - t0) * 1000
        if presigned is None:  # the first receipt's signed XML stands in for every unsigned one
            presigned = _Presigned(real, _any_signed(ctx))
        if i >= 2 * warmup:
            times[mode].append(elapsed)
        _prune(ctx)
    ctx.__dict__["receipt_signing"] = real
    return times


def _prune(ctx) -> None:
    """Delete the journey's items but the series counter (untimed). moto copies a table for every transaction,
    so a growing table would make every later callback slower whatever it does (the main bench prunes too)."""
    from chalicelib.aws.clients import client

    ddb, s = client("dynamodb", ctx.settings.region), ctx.settings
    for table, keys in ((s.ledger_table, ("pk", "sk")), (s.dossiers_table, ("dossier_code",))):
        items = ddb.scan(TableName=table, ProjectionExpression=", ".join(keys))["Items"]
        keep = ("CTR#", "RCPT#") if table == s.ledger_table else ()
        doomed = [i for i in items if not (keep and i["pk"]["S"].startswith(keep))]
        if table == s.ledger_table:  # and only the last receipt
            receipts = [i for i in items if i["pk"]["S"].startswith("RCPT#")]
            doomed += receipts[:-1]
        for start in range(0, len(doomed), 25):
            ddb.batch_write_item(RequestItems={table: [{"DeleteRequest": {"Key": k}} for k in doomed[start:start + 25]]})
    _compact_moto(ctx)


def _compact_moto(ctx) -> None:
    """moto deep-copies each table a transaction touches, with its stream's every record and the empty buckets left
    by deletes: drop those (nothing reads the stream in this bench; moto runs in this process, idle here)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][ctx.settings.region]
    for name in (ctx.settings.ledger_table, ctx.settings.dossiers_table):
        table = backend.tables.get(name)
        shard = getattr(table, "stream_shard", None)
        if shard is not None:
            shard.items.clear()
        items = getattr(table, "items", None)
        if isinstance(items, dict):
            for key in [k for k, v in items.items() if isinstance(v, dict) and not v]:
                del items[key]


def _any_signed(ctx) -> bytes:
    return _latest_receipt(ctx)[1]


def _latest_receipt(ctx):
    """A signed receipt and its XML (receipts are kept by the pruning, one journey's worth at a time)."""
    from chalicelib.aws.tables import models
    from chalicelib.receipts.domain import Receipt

    _, M = models(ctx.settings)
    for item in M.scan(M.kind == "receipt"):
        if item.xml:
            return Receipt.model_validate_json(item.doc), item.xml.encode("utf-8")
    raise RuntimeError("no signed receipt found")


def _throughput(ctx, seconds: float) -> dict:
    """Signing on one core: XML signatures per second, and the lazy PDF's render and PAdES signature times."""
    from chalicelib.aws.tables import models
    from chalicelib.receipts.adapters.documents import document_fields
    from chalicelib.receipts.adapters.keys import receipt_xml_fields
    from chalicelib.receipts.adapters.pdf import render_receipt_pdf
    from chalicelib.receipts.domain import Receipt
    from chalicelib.receipts.signing import ReceiptSigner
    from chalicelib.receipts.xml import build_receipt_xml

    _, M = models(ctx.settings)
    item = next(i for i in M.scan(M.kind == "receipt", limit=50) if i.xml)
    receipt = Receipt.model_validate_json(item.doc)
    keys = ctx.receipt_signing._keys()
    signer: ReceiptSigner = keys.xml
    unsigned = build_receipt_xml(receipt_xml_fields(receipt))
    moment = datetime.fromisoformat(receipt.issued_at)
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        signer.sign(unsigned, moment)
        count += 1
    elapsed = time.perf_counter() - started
    renders, pades = [], []
    for _ in range(10):
        t0 = time.perf_counter()
        pdf = render_receipt_pdf(document_fields(receipt, ctx.settings.receipt_verify_url, keys.xml.signer_name))
        t1 = time.perf_counter()
        keys.pdf.sign(pdf)
        renders.append((t1 - t0) * 1000)
        pades.append((time.perf_counter() - t1) * 1000)
    return {"xml_signatures_per_s_per_core": round(count / elapsed, 1),
            "xml_sign_ms": round(1000 * elapsed / count, 3), "seconds": round(elapsed, 2),
            "pdf_render_p50_ms": round(statistics.median(renders), 2),
            "pdf_pades_sign_p50_ms": round(statistics.median(pades), 2),
            "cpus": os.cpu_count()}


def run(n: int = 300, seconds: float = 5.0) -> dict:
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
        env = provision(endpoint, STAGE)
        configure_environment(endpoint, STAGE, env, bank_url="http://127.0.0.1:9")
        with contextlib.redirect_stdout(io.StringIO()):
            import app as app_module
            from chalicelib.bootstrap import context

            ctx = context()
            times = _journeys(app_module.app, ctx, n, warmup=min(20, max(5, n // 10)))
            signing = _throughput(ctx, seconds)
    finally:
        moto.stop()
    signed, unsigned = _figures(times["signed"]), _figures(times["unsigned"])
    ratio = round(signed["p50_ms"] / unsigned["p50_ms"], 3)
    return {"route": "POST /v1/partners/banks/{bank_code}/callbacks (issues the receipt)",
            "issuance_signed": signed, "issuance_unsigned": unsigned, "ratio_signed_to_unsigned": ratio,
            "added_p50_ms": round(signed["p50_ms"] - unsigned["p50_ms"], 3),
            "signing": signing, "target_ratio_max": TARGET_RATIO_MAX, "met": {"ratio": ratio <= TARGET_RATIO_MAX}}


def main(argv: list[str] | None = None) -> int:
    import argparse
    import json

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args(argv)
    print(json.dumps(run(args.n, args.seconds), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
