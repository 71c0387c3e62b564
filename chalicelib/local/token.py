"""Print an access token of a seeded demo user of the running local stack, signed in through the user pool.

Usage (with `make run` going):
    python -m chalicelib.local.token --role citizen
    python -m chalicelib.local.token --role officer --api http://127.0.0.1:8000
    python -m chalicelib.local.token --role operator --refresh     # the refresh token instead

The demo users and their password are documented in chalicelib/local/devkeys.py (LOCAL_DEMO_USERS); the stack seeds
them when it starts. Nothing is minted here: the API signs the user in through the pool (moto's cognito-idp
locally, Cognito in AWS) and the token is the pool's RS256 token, verified through the pool's JWKS like any other.
Only the token is written to stdout, so ``TOKEN=$(python -m chalicelib.local.token --role citizen)`` works.
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from chalicelib.local.devkeys import LOCAL_DEMO_PASSWORD, LOCAL_DEMO_USERS
from chalicelib.local.identities import ROLES, sign_in


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.local.token",
                                     description="Sign a seeded demo user in through the local stack's user pool.")
    parser.add_argument("--role", required=True, choices=ROLES, help="whose token: the demo user of this role")
    parser.add_argument("--api", default="http://127.0.0.1:8000", help="the local API (default :8000)")
    parser.add_argument("--refresh", action="store_true", help="print the refresh token instead")
    return parser


def make_token(argv: Sequence[str] | None = None) -> str:
    args = build_parser().parse_args(argv)
    answer = sign_in(args.api.rstrip("/"), args.role, LOCAL_DEMO_USERS[args.role], LOCAL_DEMO_PASSWORD)
    return answer["refresh_token" if args.refresh else "access_token"]


def main(argv: Sequence[str] | None = None) -> int:
    sys.stdout.write(make_token(argv) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
