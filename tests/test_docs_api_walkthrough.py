"""docs/api.md's curl walk-through runs as written against a real server: push an order,
open a case as the buyer, handle it as the shop, follow it to the refund."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="needs curl, jq")
def test_api_walkthrough_in_docs_runs_to_a_refund(tmp_path: Path) -> None:
    text = DOC.read_text()
    section = text[text.index("## Walk-through") : text.index("## Who may do what")]
    script = "\n".join(re.findall(r"```sh\n(.*?)```", section, re.S))
    port = _free_port()
    aftersales = str(Path(sys.executable).parent / "aftersales")
    script = (
        script.replace(".venv/bin/aftersales", aftersales)
        .replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        .replace("--port 8000 &", f"--port {port} > serve.log 2>&1 &\nSERVER=$!")
    )
    # Wait for the server instead of racing it; stop it at the end.
    script = script.replace(
        "API=http",
        "for i in $(seq 100); do curl -sf $API_ROOT/api/health && break; sleep 0.2; done\nAPI=http",
    ).replace("SERVER=$!", f"SERVER=$!\nAPI_ROOT=http://127.0.0.1:{port}")
    full = "set -euo pipefail\ntrap 'kill $SERVER 2>/dev/null || true' EXIT\n" + script
    env = {**os.environ, "AFTERSALES_DATABASE_URL": f"sqlite:///{tmp_path / 'walk.db'}"}
    env.pop("AFTERSALES_EMBEDDED_DISPATCHER", None)
    res = subprocess.run(
        ["bash", "-c", full],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert '"state": "refunded"' in res.stdout
    assert '"action": "approve_refund"' in res.stdout and '"rule": "R5.2"' in res.stdout
