"""`aftersales risk BUYER_REF` as a process (R15.2): the level, the score and each signal."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aftersales.store.db import Database
from aftersales.store.migrate import upgrade
from tests.conftest import FakeClock, make_context
from tests.risk.support import make_shopper, rules

CLI = [sys.executable, "-m", "aftersales.cli"]


def _run(args: list[str], url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AFTERSALES_DATABASE_URL": url, "COLUMNS": "200"}
    return subprocess.run(
        [*CLI, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_R15_2_risk_command_prints_level_score_and_each_signal(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'risk.db'}"
    db = Database(url)
    upgrade(db)
    # The command reads the real clock: build the history around it.
    ctx = make_context(db, FakeClock(datetime.now(UTC)))
    r = rules(ctx)
    buyer = make_shopper(ctx, registered_ago=timedelta(days=3))
    number = buyer.order(quantity=r.many_units_of_one_item)
    db.dispose()

    shown = _run(["risk", buyer.ref, "--lang", "en"], url)
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    score = sum(r.weights[n] for n in ("new_account", "no_purchase_history"))
    score += r.weights["many_units_of_one_item"]
    assert f"{score} (medium from {r.medium_at}, high from {r.high_at})" in out
    assert number in out and "douyin v" in out
    for name in ("new_account", "no_purchase_history", "many_units_of_one_item"):
        assert f"({name})" in out
    assert f"Units of one item in this order: {r.many_units_of_one_item}" in out
    assert "Account age: 3 days" in out

    missing = _run(["risk", "no-such-buyer", "--lang", "en"], url)
    assert missing.returncode == 1
    assert "Buyer no-such-buyer not found." in missing.stdout
