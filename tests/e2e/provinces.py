"""Real provinces for e2e tests that need one of their own (a registry entry, its APIs pointed at the simulated
province): one per test, never twice in a test process whatever the module (each xdist worker has its own stack)."""
from __future__ import annotations

# The local stack registers H35 and H49; other e2e modules use these provinces by name: keep clear of them all.
RESERVED = frozenset({"H35", "H49", "H01", "H12", "H13", "H15", "H19", "H26", "H29"})
_used: set[str] = set()


def next_province():
    """A current province (``admin_units.Province``) no other test of this process has taken."""
    from chalicelib.core import admin_units

    free = [p for p in sorted(admin_units.provinces(), key=lambda p: p.agency_code, reverse=True)
            if p.agency_code not in RESERVED | _used]
    if not free:
        raise RuntimeError("every province is taken by an earlier test of this process")
    _used.add(free[0].agency_code)
    return free[0]
