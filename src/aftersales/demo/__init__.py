"""A demo marketplace, built through the real services (and the real deadline worker).

Three shops (two on ``douyin``, one on ``tiktok``), a product for every category flag,
buyers, orders in every stage, and cases in every reachable state of every request type.
Each case's story is replayed on a clock that ends just before now, so waiting cases keep
their deadlines in the future and the timeline reads like real handling.

The package: ``load.py`` loads it, ``stories.py`` holds the cases' stories,
``automation.py`` and ``arbitration.py`` the strategies' and the disputes' parts,
``logins.py`` the accounts and how they are printed, ``common.py`` what they share.
"""

from aftersales.demo.common import DemoSummary, Hint
from aftersales.demo.load import load_demo
from aftersales.demo.logins import DEMO_PASSWORD, render_logins, runnable_program

__all__ = ["DEMO_PASSWORD", "DemoSummary", "Hint", "load_demo", "render_logins", "runnable_program"]
