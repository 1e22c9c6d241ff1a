"""The case state machine: ONE transition table for all five request types (R2, R5).

Each row is ``(state, action, types) -> targets`` with the actor allowed to take it, the
rule that defines the move, named guards that may refuse it, and an effect that updates
the case. An illegal move raises :class:`IllegalTransition` naming the rule. The table is
rendered into ``docs/architecture.md`` (a test keeps the two identical) and is asked by
interfaces which actions to offer, so the UI and the model never disagree.

The package, one sentence per module:

- ``vocabulary``: the short names and type groups the table is written in;
- ``caps``: R5.2 what can still be refunded, and the refusals that name it;
- ``guards``: the named guards of the merchant's and the buyer's moves (R5);
- ``effects``: how each move of R5 changes the case;
- ``rulings``: R9-R12 remedies, rulings, execution and overturns;
- ``parcels``: R16.2 logistics intercepts;
- ``profile_rules``: the profile's optional tables as the machine reads them;
- ``table``: THE transition table and the states each type reaches;
- ``deadlines``: which deadline each state holds, its timeout, party and length;
- ``moves``: :func:`apply` one move, :func:`available_actions` the moves offered;
- ``opening``: :func:`open_case`, validating a new request (R2, R3, R4, R5.2).

Callers import the package (``from aftersales.domain import machine``); the names below
are its public face.
"""

from aftersales.domain.machine.caps import exceeds_paid, max_refundable
from aftersales.domain.machine.deadlines import (
    DEADLINE_ACTIONS,
    DEADLINE_PARTY,
    STATE_DEADLINES,
    deadline_delay,
    guard_deadline,
)
from aftersales.domain.machine.guards import (
    PROOF_FIELD,
    check_return_address,
    proof_rule,
    regional_auto_refund,
)
from aftersales.domain.machine.moves import OFFER_GUARDS, apply, available_actions
from aftersales.domain.machine.opening import OpenRequest, open_case
from aftersales.domain.machine.profile_rules import (
    appeal_rules,
    buyer_may_appeal,
    intercept_offered,
    intervention_rules,
    logistics_rules,
)
from aftersales.domain.machine.rulings import REFUND_REMEDIES, REMEDY_TYPES, ruled_amount
from aftersales.domain.machine.table import (
    TRANSITIONS,
    Transition,
    reachable_states,
    transition_for,
)
from aftersales.domain.machine.vocabulary import (
    ALL_TYPES,
    REFUND_TYPES,
    RETURN_OFFER_TYPES,
    RETURN_TYPES,
    Effect,
    Guard,
)

__all__ = [
    "ALL_TYPES",
    "DEADLINE_ACTIONS",
    "DEADLINE_PARTY",
    "OFFER_GUARDS",
    "PROOF_FIELD",
    "REFUND_REMEDIES",
    "REFUND_TYPES",
    "REMEDY_TYPES",
    "RETURN_OFFER_TYPES",
    "RETURN_TYPES",
    "STATE_DEADLINES",
    "TRANSITIONS",
    "Effect",
    "Guard",
    "OpenRequest",
    "Transition",
    "appeal_rules",
    "apply",
    "available_actions",
    "buyer_may_appeal",
    "check_return_address",
    "deadline_delay",
    "exceeds_paid",
    "guard_deadline",
    "intercept_offered",
    "intervention_rules",
    "logistics_rules",
    "max_refundable",
    "open_case",
    "proof_rule",
    "reachable_states",
    "regional_auto_refund",
    "ruled_amount",
    "transition_for",
]
