"""M12 alerts for M6: a province's registered contacts learn, by SMS and email, that receipts are not reaching it.

Grouped and throttled: at most one burst per province per window (``alert_window_s``), with one escalation from
"failing for a long time" to "dead-lettered" inside a window. An outage of 1,000 receipts is one burst, not 1,000
messages. The window is a conditional write in the directory table (shared by every container); each container also
remembers it, so a failing batch does not write once per message.
"""
from __future__ import annotations

import logging

from chalicelib.core.clock import epoch
from chalicelib.provinces.domain.delivery import SERVICE_LAND_TAX_PAYMENT, AlertKind, ProvinceAlert
from chalicelib.provinces.ports import ProvincesContext
from chalicelib.provinces.services.apis import province_name

log = logging.getLogger(__name__)


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
    counts = psvc.deliveries.counts(province)
    alert = ProvinceAlert(kind=kind, province=province, province_name=province_name(psvc, province),
                          failing=counts.get("FAILING", 0), dead=counts.get("DEAD", 0),
                          since=psvc.deliveries.oldest_open_failure(province), last_error=last_error)
    contacts = psvc.registry.get_contacts(province, SERVICE_LAND_TAX_PAYMENT) or {}
    phones, emails = contacts.get("phones", []), contacts.get("emails", [])
    sent_sms = 0
    for phone in phones:
        try:
            psvc.alerts.sms(phone, alert.sms())
            sent_sms += 1
        except Exception:  # one bad number must not stop the others
            log.exception("alert SMS not sent", extra={"province": province})
    try:
        if emails:
            psvc.alerts.email(emails, alert.subject(), alert.email(), province)
        psvc.alerts.ops(kind.value, alert.subject(), {"province": province, "failing": alert.failing,
                                                      "dead": alert.dead, "since": alert.since,
                                                      "last_error": last_error})
    except Exception:  # the alert record below still shows what should have gone out
        log.exception("alert email not published", extra={"province": province})
    psvc.registry.record_alert(province, {"kind": kind.value, "at": now.isoformat(), "failing": alert.failing,
                                          "dead": alert.dead, "since": alert.since, "last_error": last_error,
                                          "sms_sent": sent_sms, "emails": len(emails)})
    psvc.count("ProvinceAlertsSent")
    return True
