"""CLI: re-drive a province's dead letters once it is back (the same use case as the operator API).

    python -m chalicelib.jobs.redrive 000.00.00.H49 --by "nguyen.van.a@vpcp"

Runs with the operator's own AWS credentials and the stage's environment (table, queue and DLQ names).
"""
from __future__ import annotations

import argparse
import json


def main(argv: list[str] | None = None) -> int:
    from chalicelib.aws.observability import install_logging

    install_logging()  # the CLI's log lines are masked like the Lambdas'
    from chalicelib.bootstrap import context
    from chalicelib.provinces.ports import Actor
    from chalicelib.provinces.services.recovery import redrive

    parser = argparse.ArgumentParser(prog="python -m chalicelib.jobs.redrive", description=__doc__.splitlines()[0])
    parser.add_argument("agency_code", help="the province's level-1 agency code, e.g. 000.00.00.H49")
    parser.add_argument("--by", required=True, help="who runs it (recorded in the audit trail)")
    args = parser.parse_args(argv)
    result = redrive(context(), Actor(subject=f"cli:{args.by}", operator=True), args.agency_code)
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
