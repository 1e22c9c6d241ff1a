"""`aftersales reviews appeals` and `aftersales reviews decide` as a process (R12.3)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from aftersales.store.db import Database
from aftersales.store.migrate import upgrade
from tests.conftest import FakeClock, make_context
from tests.reviews.support import file, reviewed, tiktok_world

CLI = [sys.executable, "-m", "aftersales.cli"]


def _run(args: list[str], url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AFTERSALES_DATABASE_URL": url, "COLUMNS": "200"}
    return subprocess.run(
        [*CLI, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_R12_3_agent_lists_the_queue_and_decides_once_from_the_cli(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'reviews.db'}"
    db = Database(url)
    upgrade(db)
    # The command reads the real clock: build the appeals around it.
    ctx = make_context(db, FakeClock(datetime.now(UTC)))
    w = tiktok_world(ctx)
    first, second = reviewed(w), reviewed(w)
    a1, a2 = file(first), file(second)
    db.dispose()

    queue = _run(["reviews", "appeals", "--lang", "en"], url)
    assert queue.returncode == 0, queue.stderr
    assert first.order_number in queue.stdout and second.order_number in queue.stdout
    assert "2 review appeal(s)" in queue.stdout

    done = _run(
        ["reviews", "decide", str(a1.id), "--uphold", "--note", "Wrong parcel.", "--lang", "en"],
        url,
    )
    assert done.returncode == 0, done.stderr
    assert f"Review appeal {a1.id}: Upheld" in done.stdout
    again = _run(
        ["reviews", "decide", str(a1.id), "--dismiss", "--note", "No.", "--lang", "en"], url
    )
    assert again.returncode == 1
    assert f"Review appeal {a1.id} has already been decided." in again.stdout
    unsure = _run(["reviews", "decide", str(a2.id), "--note", "Hmm.", "--lang", "en"], url)
    assert unsure.returncode == 2

    upheld = _run(["reviews", "appeals", "--status", "upheld", "--lang", "en"], url)
    assert first.order_number in upheld.stdout and second.order_number not in upheld.stdout
    pending = _run(["reviews", "appeals", "--lang", "en"], url)
    assert "1 review appeal(s)" in pending.stdout and second.order_number in pending.stdout
