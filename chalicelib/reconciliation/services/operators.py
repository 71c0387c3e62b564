"""Operators' side of settlement reconciliation (M14 §2): list runs, read a run and its discrepancies, resolve a
discrepancy with a note (audited, once), re-run a bank's day from the stored file; and the 10:00 check that every
bank's file for yesterday arrived (a file that landed without a run is run then; a missing one alerts, once).
"""
from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.core import banks
from chalicelib.core.errors import AppError, conflict, not_found
from chalicelib.core.fields import BankCode, IsoDate
from chalicelib.core.parsing import parse
from chalicelib.outbox import domain as outbox
from chalicelib.reconciliation.domain.matching import Category
from chalicelib.reconciliation.domain.runs import (
    DiscrepancyStatus,
    FileRef,
    Run,
    RunStatus,
    Trigger,
    settlement_key,
)
from chalicelib.reconciliation.domain.settlement import settlement_file_name
from chalicelib.reconciliation.ports import DiscrepancyResolvedError, ReconcileContext
from chalicelib.reconciliation.services.runs import reconcile

log = logging.getLogger(__name__)
LATE_CHECK_AT = time(10, 0)  # files for D are due by D+1 09:00 (RECONCILIATION.md); checked an hour later
_BANK = r"^[A-Z]{2,10}$"


class _Query(BaseModel):
    model_config = ConfigDict(extra="forbid")
    __rules__ = ("CURSOR_INVALID",)  # an opaque cursor's content

    limit: int = Field(20, ge=1, le=100, description="Items per page (1-100).")
    cursor: str | None = Field(None, max_length=2048, description="The `next_cursor` of the previous page.")


class RunsQuery(_Query):
    bank_code: BankCode | None = Field(None, description="Only this bank's runs (VCB, ICB, BIDV, VBA, MB).")
    date_from: IsoDate | None = Field(None, description="Settlement days from (YYYY-MM-DD, inclusive).")
    date_to: IsoDate | None = Field(None, description="Settlement days to (YYYY-MM-DD, inclusive).")
    status: RunStatus | None = Field(None, description="RUNNING, COMPLETED, REFUSED or FAILED.")


class DiscrepanciesQuery(_Query):
    category: Category | None = Field(None, description="Only this category.")
    status: DiscrepancyStatus | None = Field(None, description="OPEN or RESOLVED.")


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=3, max_length=1000, description="What was found and done (kept in the audit).")


class RerunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bank_code: BankCode = Field(description="The bank whose file to run again.")
    settlement_date: date = Field(description="The settlement day (YYYY-MM-DD).")


def _run_not_found() -> AppError:
    return not_found("RUN_NOT_FOUND", "Không tìm thấy lần đối soát.")


def _bank(code: str) -> str:
    return banks.get_bank(code).code  # InvalidValueError BANK_UNKNOWN -> 422


def list_runs(ctx: ReconcileContext, params: dict) -> dict:
    query = parse(RunsQuery, params)
    filters = {"bank_code": _bank(query.bank_code) if query.bank_code else None, "date_from": query.date_from,
               "date_to": query.date_to, "status": query.status.value if query.status else None}
    page = ctx.runs.list_runs(filters, query.limit, query.cursor)
    return {"items": [run_view(r) for r in page.items], "next_cursor": page.cursor}


def get_run(ctx: ReconcileContext, run_id: str, params: dict) -> dict:
    query = parse(DiscrepanciesQuery, params)
    run = ctx.runs.get(run_id)
    if run is None:
        raise _run_not_found()
    filters = {"category": query.category.value if query.category else None,
               "status": query.status.value if query.status else None}
    page = ctx.runs.list_discrepancies(run_id, filters, query.limit, query.cursor)
    return {**run_view(run), "discrepancies": {"items": [d.model_dump(mode="json") for d in page.items],
                                                "next_cursor": page.cursor}}


def resolve_discrepancy(ctx: ReconcileContext, operator: str, run_id: str, key: str, body: Any) -> dict:
    note = parse(ResolveIn, body).note.strip()
    if ctx.runs.get(run_id) is None:
        raise _run_not_found()
    try:
        done = ctx.runs.resolve(run_id, key, operator, ctx.clock.now(), note)
    except KeyError:
        raise not_found("DISCREPANCY_NOT_FOUND", "Không tìm thấy sai lệch trong lần đối soát này.") from None
    except DiscrepancyResolvedError as exc:
        resolution = exc.discrepancy.resolution
        raise conflict("DISCREPANCY_ALREADY_RESOLVED", "Sai lệch này đã được xử lý trước đó, không ghi nhận lần "
                       "thứ hai.", resolved_by=resolution.by if resolution else None,
                       resolved_at=resolution.at.isoformat() if resolution else None) from None
    log.info("settlement discrepancy resolved", extra={"run_id": run_id, "key": key})
    return done.model_dump(mode="json")


def stored_file(ctx: ReconcileContext, bank_code: str, day: date) -> FileRef | None:
    """The file of the day's current run, else the newest file at the bank's key for that day."""
    current = ctx.runs.current(bank_code, day)
    if current is not None and not current.file.key.startswith("local:"):
        return current.file
    fmt = ctx.settlement_formats.format_for_bank(bank_code)
    return ctx.settlement_files.latest(settlement_key(bank_code, day, settlement_file_name(bank_code, day, fmt)))


def rerun(ctx: ReconcileContext, operator: str, body: Any) -> dict:
    """Run the stored file again now (a new run superseding the current one). Synchronous: big files are the
    CLI's (``python -m chalicelib.jobs.reconcile <BANK> <YYYY-MM-DD>``), the API answers within its timeout."""
    req = parse(RerunIn, body)
    bank = _bank(req.bank_code)
    ref = stored_file(ctx, bank, req.settlement_date)
    if ref is None:
        raise not_found("SETTLEMENT_FILE_NOT_FOUND", f"Chưa có tệp đối soát của ngân hàng {bank} ngày "
                        f"{req.settlement_date:%d/%m/%Y}.")
    size = ctx.settlement_files.size(ref)
    limit = ctx.settings.reconcile_inline_max_bytes
    if size > limit:
        raise AppError("SETTLEMENT_RERUN_TOO_LARGE", f"Tệp đối soát lớn hơn {limit // (1024 * 1024)} MB: hãy chạy "
                       f"lại bằng lệnh python -m chalicelib.jobs.reconcile {bank} {req.settlement_date}.", 422,
                       "Tệp quá lớn")
    run = reconcile(ctx, bank, req.settlement_date, ref, Trigger(source="operator", by=operator), force=True)
    return run_view(run)


def check_late_files(ctx: ReconcileContext) -> list[dict]:
    """After 10:00 (Vietnam time), every bank must have a completed run for yesterday: a file that landed without
    one (its event was lost, or its run failed) is run now; a bank without a file alerts operators, once per
    day."""
    now = ctx.clock.now()
    if now.time() < LATE_CHECK_AT:
        return []
    day, out = now.date() - timedelta(days=1), []
    for bank in sorted(banks.bank_registry()):
        if ctx.runs.current(bank, day) is not None:
            continue
        ref = stored_file(ctx, bank, day)
        if ref is not None:  # no completed run: never run, or its run failed (a refused file stays refused)
            run = reconcile(ctx, bank, day, ref, Trigger(source="schedule", by="system"))
            if run.status is not RunStatus.REFUSED:
                out.append({"bank_code": bank, "run_id": run.run_id, "status": run.status.value})
            continue
        if ctx.runs.files_seen(bank, day):
            continue
        alert = outbox.ops_alert("SETTLEMENT_FILE_LATE", f"Ngân hàng {bank} chưa gửi tệp đối soát ngày "
                                 f"{day:%d/%m/%Y}", {"bank_code": bank, "settlement_date": day.isoformat(),
                                                     "due_by": datetime.combine(now.date(), time(9),
                                                                                now.tzinfo).isoformat()})
        if ctx.runs.first_alert("SETTLEMENT_FILE_LATE", bank, day, [alert]):
            out.append({"bank_code": bank, "late": True})
    return out


def run_view(run: Run) -> dict:
    return run.model_dump(mode="json", exclude={"lease_until"})
