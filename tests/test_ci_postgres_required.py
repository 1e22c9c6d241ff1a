"""Under CI=true a missing PostgreSQL fails the run instead of skipping its tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UNREACHABLE = "postgresql://postgres@127.0.0.1:9/nowhere"


def _pytest(ci: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CI": ci, "AFTERSALES_TEST_PG_URL": UNREACHABLE}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/test_smoke_services.py",
            "-k",
            "postgresql",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_missing_postgresql_fails_under_ci() -> None:
    res = _pytest("true")
    assert res.returncode != 0
    assert "PostgreSQL is required under CI=true" in res.stdout


def test_missing_postgresql_skips_outside_ci() -> None:
    res = _pytest("")
    assert res.returncode == 0, res.stdout
    assert "skipped" in res.stdout
