"""Run pytest with some modules made unimportable, as they are in the Lambda zip (infra/bundle.py leaves them out).

    python tests/blocked_imports.py PIL,lxml.objectify tests/unit/test_pdf.py ...
"""
from __future__ import annotations

import sys

import pytest


class _Blocker:
    def __init__(self, modules: list[str]) -> None:
        self._modules = modules

    def find_spec(self, name, path=None, target=None):
        if any(name == m or name.startswith(m + ".") for m in self._modules):
            raise ImportError(f"{name} is not in the Lambda zip (infra/bundle.py)")
        return None


if __name__ == "__main__":
    sys.meta_path.insert(0, _Blocker(sys.argv[1].split(",")))
    sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", "-p", "no:xdist", *sys.argv[2:]]))
