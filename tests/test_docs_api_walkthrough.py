"""docs/api.md's curl walk-through runs as written against a real server: push an order,
open a case as the buyer, handle it as the shop, follow it to the refund, and stop.

The commands are taken from the document unchanged and run from the checkout root, as a
reader runs them; the test only wraps them in `set -euo pipefail` (and a trap that stops
the server if a step fails), picks a free port through the documented `WALK_PORT`, and
points `mktemp -d` into its own temporary directory to see that nothing is left behind."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "api.md"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _script() -> str:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## Walk-through") : text.index("## Who may do what")]
    return "\n".join(re.findall(r"```sh\n(.*?)```", section, re.S))


def test_hardening_walkthrough_keeps_to_its_own_port_and_temporary_directory() -> None:
    script = _script()
    assert not re.search(r"\b8000\b", script) and ":-8765}" in script  # not make run's port
    assert "WALK=$(mktemp -d)" in script and 'rm -r "$WALK"' in script
    last = [line for line in script.splitlines() if line.strip()][-3:]
    assert last[0].startswith("kill $SERVER") and last[1] == 'rm -r "$WALK"', last
    # Every file it writes is in its directory: the cookie jars, the log, the database.
    for written in re.findall(r"-c (\S+)|> (\S+\.log)", script):
        assert "".join(written).startswith("$WALK/"), written


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="needs curl, jq")
@pytest.mark.skipif(not (ROOT / ".venv" / "bin" / "aftersales").exists(), reason="no .venv")
def test_api_walkthrough_in_docs_runs_to_a_refund(tmp_path: Path) -> None:
    port = _free_port()
    full = "set -euo pipefail\ntrap 'kill ${SERVER:-} 2>/dev/null || true' EXIT\n" + _script()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AFTERSALES_")}
    env |= {"WALK_PORT": str(port), "TMPDIR": str(tmp_path)}
    before = set(os.listdir(ROOT))
    res = subprocess.run(
        ["bash", "-c", full],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert '"state": "refunded"' in res.stdout
    assert '"action": "approve_refund"' in res.stdout and '"rule": "R5.2"' in res.stdout
    # It stopped its server and removed its directory; it wrote nothing into the checkout.
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0
    assert list(tmp_path.iterdir()) == []
    assert set(os.listdir(ROOT)) - before == set()
