"""Creating a user in the pool and recording it in the directory, which are two systems: the pool first (so no
recorded account is ever without a login), the record second, the pool user deleted again if the record cannot be
written.

If that delete fails too, an unrecorded pool user is left behind: the next creation for the same user name finds it
(UserExists without a record) and, once it is older than any request can take (``ORPHAN_AFTER_S``), replaces it; a
younger one is another request's creation in flight, and that request wins.
"""
from __future__ import annotations

import logging
from typing import Callable

from chalicelib.accounts.ports import AccountsContext
from chalicelib.core.clock import epoch
from chalicelib.core.ports import AlreadyExistsError
from chalicelib.identity import ports as pool

log = logging.getLogger(__name__)

ORPHAN_AFTER_S = 600


def create_pool_user(svc: AccountsContext, username: str, make: Callable[[], pool.CreatedUser],
                     recorded: Callable[[], bool]) -> pool.CreatedUser:
    """``make()`` creates the user; ``recorded()`` says whether the directory already holds it. AlreadyExistsError
    when it exists (recorded, or being created by another request)."""
    from chalicelib.accounts.services.sign_in import unavailable

    try:
        try:
            return make()
        except pool.UserExists:
            if recorded() or not _orphan(svc, username):
                raise AlreadyExistsError(username) from None
            log.warning("replacing an unrecorded pool user")
            svc.users.delete(username)
            return make()
    except pool.UserExists:
        raise AlreadyExistsError(username) from None
    except pool.DirectoryError:
        raise unavailable() from None


def _orphan(svc: AccountsContext, username: str) -> bool:
    try:
        created = svc.users.created_at(username)
    except pool.UserNotFound:
        return True  # gone since: make() may simply run again
    return epoch(svc.clock.now()) - created >= ORPHAN_AFTER_S


def discard_pool_user(svc: AccountsContext, username: str) -> None:
    """Undo a creation whose record could not be written (best effort: see the module docstring)."""
    try:
        svc.users.delete(username)
    except pool.DirectoryError:
        log.error("pool user left without a record")
