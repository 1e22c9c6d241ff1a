"""`make bench` keeps running: the whole bench in its tiny configuration (servers started
as processes, the 4-worker sweep, the lists through the bulk loader) writes every section
of docs/benchmarks.md. Nothing here asserts a time; the sweep's exactly-once count is
asserted, being a guarantee and not a speed."""

from __future__ import annotations

import re
from pathlib import Path

from aftersales.sim import bench


def test_R5_1_the_quick_bench_writes_every_section_and_fires_each_deadline_once(
    tmp_path: Path,
) -> None:
    out = tmp_path / "benchmarks.md"
    bench.main(["--quick", "--out", str(out)])
    doc = out.read_text(encoding="utf-8")
    for heading in (
        "## Statements and transactions per request",
        "## Service transition vs the bare driver",
        "## Over HTTP: `aftersales serve` on PostgreSQL, as a real process",
        "## Deadline sweep, PostgreSQL, 4 worker processes",
        "## To-do list and workbench searches, PostgreSQL",
        "## To-do list and workbench searches, SQLite",
        "## Peak memory",
        "## The targets (issue table), this run",
    ):
        assert heading in doc, heading
    for step in ("push order", "open", "approve-return", "ship-return", "confirm-receipt"):
        assert re.search(rf"^\| HTTP {step} \| \d+ \| \d+ \| \d+ \| \d+ \| \d+ \|$", doc, re.M), (
            step
        )
    # every due deadline fired, none twice, by four processes at once (R5.1)
    fired = re.search(r"^\| fired / due \| (\d+) / (\d+) \|$", doc, re.M)
    assert fired is not None and fired.group(1) == fired.group(2)
    assert "| cases whose timeout was recorded more than once | 0 |" in doc
    assert "--workers 2" in doc and "to-do list flat" in doc
