"""M12 alerts for M6: a province's registered contacts learn, by SMS and email, that receipts are not reaching it.

Grouped and throttled: at most one burst per province per window (``alert_window_s``), with one escalation from
"failing for a long time" to "dead-lettered" inside a window. An outage of 1,000 receipts is one burst, not 1,000
messages. The window is a conditional write in the directory table (shared by every container); each container also
remembers it, so a failing batch does not write once per message.
"""
from __future__ import annotations

from chalicelib.core.clock import epoch
from chalicelib.outbox import domain as outbox
from chalicelib.provinces.domain.delivery import NOTICE, RECEIPT, SERVICE_LAND_TAX_PAYMENT, AlertKind, ProvinceAlert
from chalicelib.provinces.ports import ProvincesContext
from chalicelib.provinces.services.apis import province_name

MAX_RECIPIENTS = 50  # per channel and burst: one DynamoDB transaction holds the log entry and every intent


def alert_province(psvc: ProvincesContext, kind: AlertKind, province: str, last_error: str) -> bool:
    """Send the burst unless one of this level (or higher) went out in the window. True if sent."""
    now = psvc.clock.now()
    now_s = epoch(now)
    memo = psvc.caches.setdefault("alert_windows", {})
    level, until = memo.get(province, (0, 0))
    if level >= kind.level and until > now_s:
        return False
    window = psvc.settings.delivery.alert_window_s
    if not psvc.registry.open_alert_window(province, kind.level, now_s, window):
        memo[province] = (kind.level, now_s + min(window, 300))  # someone else sent it: ask again in a while
        return False
    memo[province] = (kind.level, now_s + window)
    receipts, notices = psvc.deliveries.counts(province, RECEIPT), psvc.deliveries.counts(province, NOTICE)
    alert = ProvinceAlert(kind=kind, province=province, province_name=province_name(psvc, province),
                          failing=receipts.get("FAILING", 0), dead=receipts.get("DEAD", 0),
                          notices_failing=notices.get("FAILING", 0), notices_dead=notices.get("DEAD", 0),
                          since=psvc.deliveries.oldest_open_failure(province), last_error=last_error)
    phones, emails = _recipients(psvc, province)
    ops = {"province": province, "failing": alert.failing, "dead": alert.dead, "notices_failing": alert.notices_failing,
           "notices_dead": alert.notices_dead, "since": alert.since, "last_error": last_error}
    intents = [outbox.sms(phone, alert.sms(), ref=province) for phone in phones]
    if emails:
        intents.append(outbox.email(emails, alert.subject(), alert.email(), province, ref=province))
    intents.append(outbox.ops_alert(kind.value, alert.subject(), ops))
    # The log entry and every message of the burst commit together; the outbox sends them (and retries a number
    # that fails without holding up the others).
    psvc.registry.record_alert(province, {"kind": kind.value, "at": now.isoformat(), "failing": alert.failing,
                                          "dead": alert.dead, "since": alert.since, "last_error": last_error,
                                          "sms": len(phones), "emails": len(emails)}, intents)
    psvc.count("ProvinceAlertsSent")
    return True


def _recipients(psvc: ProvincesContext, province: str) -> tuple[list[str], list[str]]:
    """The contacts registered for the service on the province itself and on every unit under it (a district
    one-stop unit registers its own people), each phone and address once, at most MAX_RECIPIENTS of each."""
    level_one = province.rsplit(".", 1)[-1]
    phones: dict[str, None] = {}
    emails: dict[str, None] = {}
    entries = [c for c in psvc.registry.list_contacts()
               if c.get("service_type") == SERVICE_LAND_TAX_PAYMENT
               and str(c.get("unit_code", "")).rsplit(".", 1)[-1] == level_one]
    entries.sort(key=lambda c: (c.get("unit_code") != province, c.get("unit_code")))  # the province's own first
    for entry in entries:
        phones.update(dict.fromkeys(entry.get("phones", [])))
        emails.update(dict.fromkeys(entry.get("emails", [])))
    return list(phones)[:MAX_RECIPIENTS], list(emails)[:MAX_RECIPIENTS]
