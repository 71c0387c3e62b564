"""How many wrong guesses a dossier code may take: the lookup key is a dossier code (often printed on papers) plus an
ID number (about 10^6 plausible values for a known birth year and place), so without a limit per dossier a known
code can be walked through its ID numbers from many addresses at once, which a per-IP limit alone cannot stop.

The first few failures are free (typing mistakes); after that each failure doubles the wait before the next try,
up to a cap, for the dossier code whatever address asks - known and unknown codes alike, so the limit itself
tells nothing about which codes exist. A day without failures forgets them.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LookupPolicy:
    free_failures: int = 5
    base_delay_s: int = 30
    max_delay_s: int = 3600
    forget_after_s: int = 86_400


@dataclass(frozen=True)
class LookupAttempts:
    failures: int = 0
    last_failure_at: int = 0  # epoch seconds


def current_failures(attempts: LookupAttempts, now: int, policy: LookupPolicy) -> int:
    """The failures that still count (none once a day has passed without one)."""
    if attempts.failures and now - attempts.last_failure_at >= policy.forget_after_s:
        return 0
    return attempts.failures


def wait_s(attempts: LookupAttempts, now: int, policy: LookupPolicy) -> int:
    """Seconds before this dossier code may be tried again (0: now)."""
    over = current_failures(attempts, now, policy) - policy.free_failures
    if over < 0:
        return 0
    delay = min(policy.max_delay_s, policy.base_delay_s * 2 ** over)
    return max(0, attempts.last_failure_at + delay - now)
