"""R9-R12: platform intervention, the ruling and its execution, and appeals.

Each public function is one use case in one transaction. A move of the case goes through
the state machine (``engine.move``: escalate, withdraw, legal proceedings, rule, appeal,
overturn); the intervention round, the ruling and the appeal are their own records. Both
parties are told through the case timeline and the ``case.<action>`` webhook event of
every entry.

- ``rounds``: a case's intervention rounds (the current one, opening one) and the checks
  every use case here shares;
- ``views``: what a caller is shown (the round, evidence templates, rulings, appeals);
- ``escalation``: R9 asking the platform to step in, the merchant's response, urgency,
  withdrawal;
- ``flags``: R9.2 facts that keep a dispute out of intervention;
- ``rulings``: R10.4 the agent's ruling;
- ``appeals``: R12 appeals against a ruling and their decision.
"""

from aftersales.services.interventions.appeals import appeal, decide_appeal
from aftersales.services.interventions.escalation import (
    escalate,
    escalation_facts,
    get_intervention,
    mark_urgent,
    respond,
    withdraw,
)
from aftersales.services.interventions.flags import flag
from aftersales.services.interventions.rounds import MAX_TEXT
from aftersales.services.interventions.rulings import RulingInput, rule
from aftersales.services.interventions.views import (
    AppealView,
    EvidenceTemplateView,
    InterventionView,
    RulingView,
    TemplateSlot,
    templates_for,
)

__all__ = [
    "MAX_TEXT",
    "AppealView",
    "EvidenceTemplateView",
    "InterventionView",
    "RulingInput",
    "RulingView",
    "TemplateSlot",
    "appeal",
    "decide_appeal",
    "escalate",
    "escalation_facts",
    "flag",
    "get_intervention",
    "mark_urgent",
    "respond",
    "rule",
    "templates_for",
    "withdraw",
]
