"""Cold start: time to import app.py in a fresh interpreter, next to the bare import of boto3 + chalice + pydantic.

Each sample is a new `python -c` process (cwd = repo root, the app's environment) that times the import with
time.perf_counter and prints it; interpreter start-up itself is excluded. Samples alternate app / baseline so any
drift of the machine affects both. Bytecode is cached in a private PYTHONPYCACHEPREFIX (warmed once before the
samples), so both sides import from .pyc files and the repository gets no __pycache__ directories.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_PROBE = "import time; t0 = time.perf_counter(); import {mods}; print(repr((time.perf_counter() - t0) * 1000))"
APP = _PROBE.format(mods="app")
BASELINE = _PROBE.format(mods="boto3, chalice, pydantic")


def _sample(code: str, env: dict[str, str]) -> float:
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=60)
    if out.returncode != 0:
        raise RuntimeError(f"import probe failed ({out.returncode}): {out.stderr.strip()[-2000:]}")
    return float(out.stdout.strip().splitlines()[-1])


def measure(runs: int = 15, env: dict[str, str] | None = None) -> dict:
    with tempfile.TemporaryDirectory(prefix="lfo-bench-pycache-") as cache:
        child_env = dict(env if env is not None else os.environ)
        child_env.pop("PYTHONDONTWRITEBYTECODE", None)
        child_env["PYTHONPYCACHEPREFIX"] = cache
        for code in (APP, BASELINE, APP, BASELINE):  # compile and cache everything both sides import
            _sample(code, child_env)
        app_ms, base_ms = [], []
        for _ in range(runs):
            app_ms.append(_sample(APP, child_env))
            base_ms.append(_sample(BASELINE, child_env))
    app_med, base_med = statistics.median(app_ms), statistics.median(base_ms)
    return {
        "app_ms": round(app_med, 1),
        "baseline_ms": round(base_med, 1),
        "ratio": round(app_med / base_med, 2),
        "runs": runs,
        "app_samples_ms": [round(x, 1) for x in app_ms],
        "baseline_samples_ms": [round(x, 1) for x in base_ms],
        "baseline": "import boto3, chalice, pydantic",
    }
