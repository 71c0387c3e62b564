"""Write the generated OpenAPI 3.1 document (what `GET /openapi.json` serves) to a file.

    python infra/openapi.py --write openapi.json
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    import app as app_module
    from chalicelib.api.openapi import build_openapi, dumps

    parser = argparse.ArgumentParser(prog="python infra/openapi.py", description=__doc__.splitlines()[0])
    parser.add_argument("--write", metavar="FILE", help="write the document to FILE (default: print it)")
    args = parser.parse_args(argv)
    text = dumps(build_openapi(app_module.app))
    if args.write:
        Path(args.write).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
