"""The one way the bank clients make a ``requests`` session: no retries, nothing taken from the environment."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import requests


def no_retry_session() -> requests.Session:
    """A session that never retries (the caller's schedule retries, and a refund is only ever repeated with its
    own request id) and ignores proxy/netrc settings from the environment. Imported lazily: cold start."""
    import requests
    from requests.adapters import HTTPAdapter

    session = requests.Session()
    session.trust_env = False
    for prefix in ("https://", "http://"):
        session.mount(prefix, HTTPAdapter(max_retries=0))
    return session
