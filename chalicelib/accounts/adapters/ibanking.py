"""The banks' internet-banking account lookup (M7): does this user name exist, and whose ID number and OTP phone
does the bank hold for it?

One HTTP call per lookup: ``POST {bank base URL}/api/ib/accounts/lookup`` with ``{"bank_code", "username"}``,
signed per Standard Webhooks with the bank's secret when one is configured (the portal -> bank direction of the
same shared secret). ``200`` with the account, ``404`` when it does not exist; anything else (or a timeout) is the
bank being unavailable, which is our 502, not the citizen's error. Each real bank's API differs (and may need mTLS
or OAuth): this is the adapter to replace per bank; the simulated bank implements this shape.
"""
from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
import uuid
from typing import Callable

from chalicelib.accounts.ports import BankAccountInfo
from chalicelib.core.errors import AppError
from chalicelib.core.webhooks import sign_webhook

log = logging.getLogger(__name__)
TIMEOUT_S = 5


class HttpInternetBanking:
    def __init__(self, base_url_of: Callable[[str], str], secrets_of: Callable[[str], list[str]],
                 timeout_s: float = TIMEOUT_S) -> None:
        self._base_url_of, self._secrets_of, self._timeout = base_url_of, secrets_of, timeout_s
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def lookup(self, bank_code: str, username: str) -> BankAccountInfo | None:
        body = json.dumps({"bank_code": bank_code, "username": username}).encode()
        headers = {"Content-Type": "application/json"}
        secrets = self._secrets_of(bank_code)
        if secrets:
            headers.update(sign_webhook(body, secrets[0], f"msg_{uuid.uuid4().hex}", int(time.time())))
        url = f"{self._base_url_of(bank_code).rstrip('/')}/api/ib/accounts/lookup"
        request = urllib.request.Request(url, data=body, method="POST", headers=headers)
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                data = json.loads(response.read())
        except urllib.error.HTTPError as error:
            with error:
                if error.code == 404:
                    return None
            log.warning("bank lookup refused", extra={"bank_code": bank_code, "status": error.code})
            raise _unavailable() from None
        except (urllib.error.URLError, OSError, ValueError):
            log.warning("bank lookup failed", extra={"bank_code": bank_code})
            raise _unavailable() from None
        try:
            return BankAccountInfo(bank_code=bank_code, username=username, holder_name=str(data["holder_name"]),
                                   id_number=str(data["id_number"]), otp_phone=str(data["otp_phone"]),
                                   account_number=str(data["account_number"]))
        except (KeyError, TypeError):
            log.warning("bank lookup answered an unexpected body", extra={"bank_code": bank_code})
            raise _unavailable() from None


def _unavailable() -> AppError:
    return AppError("BANK_UNAVAILABLE", "Không kết nối được với ngân hàng. Vui lòng thử lại sau ít phút.", 502,
                    "Ngân hàng không phản hồi")
