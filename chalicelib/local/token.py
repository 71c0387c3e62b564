"""Print a bearer token for the local stack, signed with the documented dev key (chalicelib.local.devkeys).

Usage:
    python -m chalicelib.local.token --role citizen
    python -m chalicelib.local.token --role officer --province 35 --units 000.00.00.H35,000.00.01.H35
    python -m chalicelib.local.token --role province_admin --role operator --sub admin-7 --ttl 600

Only the token is written to stdout, so ``TOKEN=$(python -m chalicelib.local.token --role citizen)`` works.
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from chalicelib.identity.adapters import issue_local_token
from chalicelib.identity.domain import Role
from chalicelib.local.devkeys import LOCAL_JWT_AUDIENCE, LOCAL_JWT_ISSUER, LOCAL_JWT_SECRET

DEFAULT_SUBJECTS: dict[Role, str] = {
    Role.CITIZEN: "citizen-demo-001",
    Role.OFFICER: "officer-demo-001",
    Role.PROVINCE_ADMIN: "province-admin-demo-001",
    Role.OPERATOR: "operator-demo-001",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m chalicelib.local.token",
        description="Issue a local-dev bearer token (HS256, dev key; never valid on a deployed stage).",
    )
    parser.add_argument(
        "--role",
        action="append",
        required=True,
        choices=[r.value for r in Role],
        help="role to grant; repeat for several",
    )
    parser.add_argument("--sub", help="subject (default: a demo subject for the first role, e.g. citizen-demo-001)")
    parser.add_argument("--province", help="province code, e.g. 35 (claim province_code)")
    parser.add_argument("--units", help="comma-separated unit codes, e.g. 000.00.00.H35 (claim unit_codes)")
    parser.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds (default 3600)")
    return parser


def make_token(argv: Sequence[str] | None = None, now: float | None = None) -> str:
    args = build_parser().parse_args(argv)
    if args.ttl <= 0:
        raise SystemExit("--ttl must be positive")
    roles = [Role(r) for r in args.role]
    claims: dict[str, object] = {}
    if args.province and args.province.strip():
        claims["province_code"] = args.province.strip()
    if args.units:
        units = [u.strip() for u in args.units.split(",") if u.strip()]
        if units:
            claims["unit_codes"] = units
    return issue_local_token(
        LOCAL_JWT_SECRET,
        LOCAL_JWT_ISSUER,
        LOCAL_JWT_AUDIENCE,
        subject=args.sub or DEFAULT_SUBJECTS[roles[0]],
        roles=roles,
        ttl_s=args.ttl,
        now=now,
        **claims,
    )


def main(argv: Sequence[str] | None = None) -> int:
    sys.stdout.write(make_token(argv) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
