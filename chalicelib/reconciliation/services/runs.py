"""M14 §2: reconcile one bank's settlement file for one day, once, and store the run.

1. Pass 1 reads the whole file (hashing it) and refuses it whole when it is incomplete or malformed: a REFUSED run,
   nothing classified, operators alerted. The same file again (same SHA-256) is the same run.
2. The portal's side is read by pages of the day index (``PortalDay.paid_on``), plus the payments the previous
   day's run held as PENDING_NEXT_DAY; a line outside both costs one lookup (rare: an unpaid or expired payment).
3. Pass 2 classifies every line (``domain.matching``); discrepancies are stored as they come, test payments are
   left out. Then the actions, after the whole file is known: a known payment the bank settled gets the success
   through the bank-result use case (origin ``reconciliation``: receipt issued once), then each second bank
   transaction is recorded on its payment as ``refund_required``. Both are idempotent, so a retried or re-run file
   applies nothing twice.
4. The run is completed, made the day's current run (superseding the previous one, kept), and any discrepancy
   alerts operators once - one transaction.
"""
from __future__ import annotations

import hashlib
import logging
from datetime import date, timedelta
from typing import Iterable, Iterator

from chalicelib.core.clock import epoch
from chalicelib.core.errors import AppError
from chalicelib.outbox import domain as outbox
from chalicelib.payments.services.bank_results import BankResult, Outcome, apply_bank_result
from chalicelib.reconciliation.domain.matching import Category, Finding, PortalPayment, Totals, classify
from chalicelib.reconciliation.domain.runs import (
    LEASE_S,
    Action,
    Discrepancy,
    FileRef,
    Run,
    RunError,
    RunStatus,
    Trigger,
    discrepancy_of,
    is_discrepancy,
    needs_action,
)
from chalicelib.reconciliation.domain.settlement import (
    SettlementFileError,
    SettlementSummary,
    ValidatedSettlement,
    validate_settlement,
)
from chalicelib.reconciliation.ports import ProgressCallback, ReconcileContext, RunConflictError

log = logging.getLogger(__name__)
BATCH = 25  # discrepancies per write (DynamoDB BatchWriteItem)
PROGRESS_EVERY = 1000


class _HashingChunks:
    """The file's chunks as validation reads them, hashed and counted; drained to the end when validation stops
    early, so a refused file has the same identity (SHA-256) however far it was read."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks, self._hash, self.size = iter(chunks), hashlib.sha256(), 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            self._hash.update(chunk)
            self.size += len(chunk)
            yield chunk

    def drain(self) -> None:
        for _ in self:
            pass

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()


def reconcile(ctx: ReconcileContext, bank_code: str, day: date, ref: FileRef, trigger: Trigger, *,
              force: bool = False, progress: ProgressCallback | None = None) -> Run:
    """Run ``ref`` as ``bank_code``'s file for ``day``; the stored run (an earlier one for the same file unless
    ``force``: an operator's re-run). KeyError for a bank without settlement files."""
    fmt = ctx.settlement_formats.format_for_bank(bank_code)
    source = _HashingChunks(ctx.settlement_files.chunks(ref))
    try:
        validated = validate_settlement(source, fmt, bank_code, day, file_name=ref.key)
    except SettlementFileError as error:
        source.drain()
        return _refused(ctx, bank_code, day, ref, trigger, source, error, force)
    with validated:
        run, mine = _start(ctx, validated.summary, ref, trigger, force)
        if not mine:
            log.info("settlement file already run", extra={"run_id": run.run_id, "status": run.status.value})
            return run
        try:
            return _process(ctx, run, validated, progress)
        except Exception as exc:
            ctx.runs.fail(run.model_copy(update={"status": RunStatus.FAILED, "error": RunError(
                code="RUN_FAILED", message=f"Đối soát bị dừng giữa chừng ({type(exc).__name__}); sẽ chạy lại.")}))
            raise


def _new_run(ctx: ReconcileContext, bank_code: str, day: date, ref: FileRef, trigger: Trigger, sha256: str,
             **fields) -> Run:
    now = ctx.clock.now()
    return Run(run_id=ctx.new_id(), bank_code=bank_code, settlement_date=day, file=ref, sha256=sha256,
               trigger=trigger, started_at=now, lease_until=epoch(now) + LEASE_S, **fields)


def _start(ctx: ReconcileContext, summary: SettlementSummary, ref: FileRef, trigger: Trigger,
           force: bool) -> tuple[Run, bool]:
    """The run of this file and whether this worker processes it (False: done already, or held by another)."""
    bank, day, sha = summary.bank_code, summary.settlement_date, summary.sha256
    existing = None if force else ctx.runs.find_by_file(bank, day, sha)
    if existing is not None:
        if existing.status in (RunStatus.COMPLETED, RunStatus.REFUSED):
            return existing, False
        now = epoch(ctx.clock.now())
        taken = ctx.runs.take_over(existing, now, now + LEASE_S)
        return (taken, True) if taken is not None else (existing, False)
    previous = ctx.runs.find_by_file(bank, day, sha) if force else None
    run = _new_run(ctx, bank, day, ref, trigger, sha, status=RunStatus.RUNNING, size_bytes=summary.size_bytes,
                   format_name=summary.format_name, line_count=summary.line_count, total_vnd=summary.total_vnd,
                   rerun_of=previous.run_id if previous is not None else None)
    try:
        ctx.runs.create(run, replace_file_claim=force)
    except RunConflictError:  # another worker claimed the same file a moment ago: it is theirs
        return ctx.runs.find_by_file(bank, day, sha) or run, False
    return run, True


def _refused(ctx: ReconcileContext, bank_code: str, day: date, ref: FileRef, trigger: Trigger,
             source: _HashingChunks, error: SettlementFileError, force: bool) -> Run:
    existing = None if force else ctx.runs.find_by_file(bank_code, day, source.sha256)
    if existing is not None:
        return existing
    run = _new_run(ctx, bank_code, day, ref, trigger, source.sha256, status=RunStatus.REFUSED,
                   size_bytes=source.size, finished_at=ctx.clock.now(),
                   error=RunError(code=error.code, message=error.message, line_no=error.line_no))
    alert = outbox.ops_alert("SETTLEMENT_FILE_REFUSED", f"Tệp đối soát {bank_code} ngày {day:%d/%m/%Y} bị từ "
                             "chối, chưa đối soát", {"run_id": run.run_id, "bank_code": bank_code,
                                                    "settlement_date": day.isoformat(), **run.error.model_dump()})
    try:
        ctx.runs.create(run, replace_file_claim=force, intents=[alert])
    except RunConflictError:
        return ctx.runs.find_by_file(bank_code, day, source.sha256) or run
    ctx.count("SettlementFilesRefused")
    log.warning("settlement file refused", extra={"run_id": run.run_id, "code": error.code})
    return run


class _Lookups:
    """The lookup classify calls for lines outside the day index: remembers which payments are tests (left out
    of reconciliation) and which belong to another bank (unknown to this bank's day)."""

    def __init__(self, ctx: ReconcileContext, bank_code: str) -> None:
        self._ctx, self._bank = ctx, bank_code
        self.tests: set[str] = set()
        self.other_bank: dict[str, str] = {}

    def __call__(self, payment_id: str) -> PortalPayment | None:
        found = self._ctx.portal.lookup(payment_id)
        if found is None:
            return None
        if found.bank_code != self._bank:
            self.other_bank[payment_id] = found.bank_code
            return None
        if found.payment.test:
            self.tests.add(payment_id)
        return found.payment

    def reason(self, finding: Finding) -> str | None:
        other = self.other_bank.get(finding.payment_id)
        return f"payment_of_bank_{other.lower()}" if other and not finding.known else None


def _counted(lines: Iterable, progress: ProgressCallback | None, total: int) -> Iterator:
    count = 0
    for count, line in enumerate(lines, start=1):
        if progress is not None and count % PROGRESS_EVERY == 0:
            progress(count, total)
        yield line
    if progress is not None:
        progress(count, total)


def _previous_pending(ctx: ReconcileContext, bank_code: str, day: date) -> dict[str, PortalPayment]:
    before = ctx.runs.current(bank_code, day - timedelta(days=1))
    return ctx.runs.pending_of(before.run_id) if before is not None else {}


def _process(ctx: ReconcileContext, run: Run, validated: ValidatedSettlement,
             progress: ProgressCallback | None) -> Run:
    if run.attempt > 1:
        ctx.runs.clear_discrepancies(run.run_id)  # this attempt writes them anew
    bank, day = run.bank_code, run.settlement_date
    lookups, totals, batch, to_act, excluded = _Lookups(ctx, bank), Totals(), [], [], 0
    portal = ctx.portal.paid_on(bank, day)
    for finding in classify(_counted(validated.lines(), progress, run.line_count), portal, lookups,
                            _previous_pending(ctx, bank, day)):
        if finding.payment_id in lookups.tests:
            excluded += 1
            continue
        totals.add(finding)
        if needs_action(finding):
            to_act.append(finding)  # acted on once the whole file is known (a later line may reverse it)
        elif is_discrepancy(finding):
            batch.append(discrepancy_of(run.run_id, finding, lookups.reason(finding)))
            if len(batch) >= BATCH:
                ctx.runs.put_discrepancies(batch)
                batch = []
    acted = _act(ctx, run, to_act)
    ctx.runs.put_discrepancies(batch + acted)
    actions: dict[str, int] = {}
    for item in acted:
        actions[item.action.value] = actions.get(item.action.value, 0) + 1
    done = run.with_totals(totals).model_copy(update={"excluded_test_lines": excluded, "actions": actions})
    return _complete(ctx, done)


def _act(ctx: ReconcileContext, run: Run, findings: list[Finding]) -> list[Discrepancy]:
    """Successes first: a payment the bank settled twice is paid by its first line, then refunded for the rest."""
    ordered = sorted(findings, key=lambda f: (f.category is not Category.MISSING_AT_PORTAL, f.line_no or 0))
    return [_act_on(ctx, run, finding) for finding in ordered]


def _act_on(ctx: ReconcileContext, run: Run, finding: Finding) -> Discrepancy:
    result = BankResult(bank_code=run.bank_code, payment_id=finding.payment_id,
                        bank_txn_ref=finding.bank_txn_ref or "", amount_vnd=finding.bank_amount_vnd or 0,
                        currency="VND", success=True,
                        paid_at=finding.paid_at.isoformat() if finding.paid_at else None, origin="reconciliation")
    try:
        outcome = apply_bank_result(ctx, result)
    except AppError as error:  # e.g. PAYMENT_ALREADY_FINAL: the portal failed a payment the bank settled
        log.warning("settlement action refused", extra={"run_id": run.run_id, "code": error.code})
        return discrepancy_of(run.run_id, finding, action=Action.REFUSED, action_detail=error.code)
    if outcome is Outcome.DUPLICATE:
        return discrepancy_of(run.run_id, finding, action=Action.ALREADY_APPLIED)
    payment = ctx.ledger.get_payment(finding.payment_id)  # applied: a receipt, or a double payment to refund
    refund = finding.refund_required or (payment is not None and payment.refund_required
                                         and payment.receipt_id is None)
    ctx.count("SettlementSuccessesApplied" if not refund else "SettlementRefundsRequired")
    return discrepancy_of(run.run_id, finding, action=Action.REFUND_REQUIRED if refund else Action.APPLIED)


def _complete(ctx: ReconcileContext, run: Run) -> Run:
    for _ in range(5):
        current = ctx.runs.current(run.bank_code, run.settlement_date)
        done = run.model_copy(update={
            "status": RunStatus.COMPLETED, "finished_at": ctx.clock.now(),
            "supersedes": current.run_id if current is not None and current.run_id != run.run_id else None})
        try:
            completed = ctx.runs.complete(done, [_discrepancy_alert(done)] if done.anomalies else [])
        except RunConflictError:
            continue  # the day's current run moved (a concurrent run completed): supersede that one
        ctx.count("SettlementRunsCompleted")
        log.info("settlement run completed", extra={"run_id": run.run_id, "anomalies": done.anomalies})
        return completed
    raise RunConflictError(run.run_id)


def _discrepancy_alert(run: Run):
    counts = {k: v for k, v in run.counts.items() if v and k != Category.MATCHED.value}
    totals = {k: run.totals_vnd[k] for k in counts}
    return outbox.ops_alert("SETTLEMENT_DISCREPANCIES", f"Đối soát {run.bank_code} ngày {run.settlement_date:%d/%m/%Y}"
                            f": {run.anomalies} sai lệch cần xử lý",
                            {"run_id": run.run_id, "bank_code": run.bank_code,
                             "settlement_date": run.settlement_date.isoformat(), "counts": counts,
                             "totals_vnd": totals, "actions": run.actions})
