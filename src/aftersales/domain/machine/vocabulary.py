"""The words the transition table is written in: short names for states, actions and
request types, the groups of types rows apply to, and the shapes of a guard and an effect."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aftersales.domain.case import (
    Case,
    Command,
    Facts,
)
from aftersales.domain.case_types import Action, CaseType, State
from aftersales.domain.policy import (
    Profile,
)

S = State
A = Action
T = CaseType
ALL_TYPES = frozenset(CaseType)
REFUND_TYPES = frozenset({T.REFUND_UNSHIPPED, T.REFUND_ONLY})
RETURN_TYPES = frozenset({T.RETURN_REFUND, T.EXCHANGE})
# R5.2: a counter-offer may ask for the goods back only where the buyer holds them for a
# return: not before shipment, and not on a reship (the buyer is missing goods).
RETURN_OFFER_TYPES = RETURN_TYPES | {T.REFUND_ONLY}

Guard = Callable[[Case, Command, Facts, Profile, datetime], None]
Effect = Callable[[Case, Command, Facts, Profile, datetime], "State | None"]
