"""Settlement reconciliation's entry points: the job a bank's file landing starts, the 10:00 late-file check, and
the operators' CLI.

    python -m chalicelib.jobs.reconcile VCB 2026-11-30                 # the stored file of that day
    python -m chalicelib.jobs.reconcile VCB 2026-11-30 --file VCB_20261130.csv
    python -m chalicelib.jobs.reconcile VCB 2026-11-30 --rerun --by nguyen.van.a@vpcp

A file already run is not run again (its run is printed) unless ``--rerun``: a new run that supersedes the day's
current one. The CLI runs with the operator's own AWS credentials and the stage's environment; its progress bar is
``rich`` (a development/operations dependency: the Lambda functions never import it).

Events: in AWS the documents bucket sends "Object Created" to EventBridge, whose rule (app.py) invokes the job with
that event; locally the bucket notifies a queue and a poller hands the same records to the job
(``chalicelib.local.stack``). Both shapes are read here, and S3's own notification records too.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
from datetime import date
from typing import Any, Iterator
from urllib.parse import unquote_plus

log = logging.getLogger(__name__)


def _objects(event: dict[str, Any]) -> Iterator[tuple[str, str, str | None]]:
    """(bucket, key, version) of every object-created record in an EventBridge event, an S3 notification, or
    SQS messages carrying S3 notifications (S3's own test event is skipped)."""
    if event.get("detail-type") == "Object Created":
        detail = event.get("detail") or {}
        yield detail["bucket"]["name"], detail["object"]["key"], detail["object"].get("version-id")
        return
    for record in event.get("Records", []):
        if "body" in record:  # SQS
            try:
                body = json.loads(record["body"])
            except ValueError:
                continue
            yield from _objects(body if isinstance(body, dict) else {})
        elif record.get("eventSource") == "aws:s3" and str(record.get("eventName", "")).startswith("ObjectCreated"):
            s3 = record["s3"]
            yield s3["bucket"]["name"], unquote_plus(s3["object"]["key"]), s3["object"].get("versionId")


def handle_event(event: dict[str, Any], context: Any = None, ctx=None) -> dict:
    from chalicelib.aws.observability import install_logging

    install_logging()
    from chalicelib.reconciliation.domain.runs import FileRef, Trigger, parse_settlement_key
    from chalicelib.reconciliation.services.runs import reconcile

    if ctx is None:
        from chalicelib.bootstrap import context as wired

        ctx = wired()
    runs = []
    for bucket, key, version in _objects(event):
        where = parse_settlement_key(key)
        if where is None:
            log.warning("object is not a settlement file", extra={"key": key[:200]})
            continue
        bank, day = where
        try:
            run = reconcile(ctx, bank, day, FileRef(key=key, version_id=version, bucket=bucket),
                            Trigger(source="s3_event", by="system"))
        except KeyError:
            log.error("no settlement format for bank", extra={"bank_code": bank})
            continue
        runs.append({"run_id": run.run_id, "status": run.status.value, "anomalies": run.anomalies})
    _flush(ctx)
    return {"runs": runs}


def run_late_check(ctx=None) -> dict:
    from chalicelib.aws.observability import install_logging

    install_logging()
    from chalicelib.reconciliation.services.operators import check_late_files

    if ctx is None:
        from chalicelib.bootstrap import context as wired

        ctx = wired()
    result = {"checked": check_late_files(ctx)}
    _flush(ctx)
    return result


def _flush(ctx) -> None:
    if ctx.metrics is not None:
        ctx.metrics.flush()


class _Bar:
    """A rich progress bar when rich is installed (operators' machines), plain lines otherwise."""

    def __init__(self, label: str) -> None:
        self._label, self._rich, self._task, self._last = label, None, None, -1
        try:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
        except ImportError:
            return
        self._rich = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                              TimeRemainingColumn())

    def __enter__(self) -> _Bar:
        if self._rich is not None:
            self._rich.start()
            self._task = self._rich.add_task(self._label, total=None)
        return self

    def __call__(self, done: int, total: int) -> None:
        if self._rich is not None:
            self._rich.update(self._task, completed=done, total=total)
        elif done * 10 // max(total, 1) != self._last:
            self._last = done * 10 // max(total, 1)
            print(f"{self._label}: {done}/{total}", flush=True)

    def __exit__(self, *exc: object) -> None:
        if self._rich is not None:
            self._rich.stop()


def main(argv: list[str] | None = None) -> int:
    from chalicelib.aws.observability import install_logging

    install_logging()
    from chalicelib.bootstrap import context
    from chalicelib.reconciliation.domain.runs import FileRef, Trigger
    from chalicelib.reconciliation.services.operators import run_view, stored_file
    from chalicelib.reconciliation.services.runs import reconcile

    parser = argparse.ArgumentParser(prog="python -m chalicelib.jobs.reconcile", description=__doc__.splitlines()[0])
    parser.add_argument("bank_code", help="the bank, e.g. VCB")
    parser.add_argument("settlement_date", type=date.fromisoformat, help="the settlement day, YYYY-MM-DD")
    parser.add_argument("--file", help="a settlement file on this machine (default: the stored file of the day)")
    parser.add_argument("--rerun", action="store_true", help="run again a file already run (a superseding run)")
    parser.add_argument("--by", default=os.environ.get("USER", "cli"), help="who runs it (recorded in the run)")
    args = parser.parse_args(argv)
    ctx, bank = context(), args.bank_code.strip().upper()
    ref = FileRef(key=f"local:{os.path.abspath(args.file)}") if args.file else stored_file(ctx, bank,
                                                                                          args.settlement_date)
    if ref is None:
        print(f"Không có tệp đối soát của {bank} ngày {args.settlement_date:%d/%m/%Y}.")
        return 2
    with _Bar(f"Đối soát {bank} {args.settlement_date:%d/%m/%Y}") as bar:
        run = reconcile(ctx, bank, args.settlement_date, ref, Trigger(source="cli", by=f"cli:{args.by}"),
                        force=args.rerun, progress=bar)
    print(json.dumps(run_view(run), ensure_ascii=False, indent=2))
    return 0 if run.status.value == "COMPLETED" else 1


if __name__ == "__main__":
    raise SystemExit(main())
