"""docs/reviews.md states the shipped R12.3 numbers and its worked example's dates are the
ones the domain computes."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from aftersales.domain.reviews import Topic, decision_window, negative_rules, window_end
from aftersales.profiles import load_profiles

DOC = Path(__file__).resolve().parents[2] / "docs" / "reviews.md"


def _shown(value: object) -> str:
    if isinstance(value, tuple):
        return ", ".join(value)
    return str(value)


def test_R12_3_docs_table_states_the_shipped_tiktok_numbers() -> None:
    nr = negative_rules(load_profiles()["tiktok"])
    assert nr is not None
    text = DOC.read_text(encoding="utf-8")
    documented = dict(re.findall(r"^\| `([a-z_]+)` \| ([^|]+?) \|", text, re.M))
    pair = re.search(
        r"^\| `decision_workdays_min` / `decision_workdays_max` \| (\d+) / (\d+) \|", text, re.M
    )
    assert pair is not None
    assert (int(pair[1]), int(pair[2])) == (nr.decision_workdays_min, nr.decision_workdays_max)
    for key in ("window_days", "excluded_topics", "required_evidence", "negative_max_rating"):
        assert documented[key] == _shown(getattr(nr, key)), key
    assert {t.value for t in Topic} <= set(documented)  # the topic table


def test_R12_3_docs_worked_example_dates_are_computed_ones() -> None:
    profile = load_profiles()["tiktok"]
    nr = negative_rules(profile)
    assert nr is not None
    tz = ZoneInfo(profile.timezone)
    filed = datetime(2026, 11, 20, 10, 0, tzinfo=tz)
    expected_from, decide_by = decision_window(profile, nr, filed)
    text = DOC.read_text(encoding="utf-8")
    iso = "%Y-%m-%dT%H:%M:%SZ"
    assert f'"expected_from": "{expected_from:{iso}}"' in text
    assert f'"decide_by": "{decide_by:{iso}}"' in text
    end = window_end(profile, nr, filed)
    assert end.astimezone(tz) == datetime(2026, 12, 21, 0, 0, tzinfo=tz)
    assert "at 00:00 on\n21 December it is late" in text
