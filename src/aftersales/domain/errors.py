"""Domain errors. Each names the rule that refused the action, when a rule did."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """An action was refused by a rule of the rulebook (or by basic validity).

    ``code`` is stable and machine-readable; ``message`` is an English message id that
    interfaces translate (see ``aftersales.i18n``); ``params`` fill its placeholders.
    """

    def __init__(self, error_code: str, message: str, /, *, rule: str | None = None, **params: Any):
        self.code = error_code
        self.rule = rule
        self.message = message
        self.params = params
        super().__init__(self.render())

    def render(self) -> str:
        text = self.message.format(**self.params) if self.params else self.message
        return f"[{self.rule}] {text}" if self.rule else text


class IllegalTransition(DomainError):
    """The case's state machine has no such move, or its guard refused it."""


class ValidationFailed(DomainError):
    """Input is malformed or inconsistent (a field names what was wrong)."""


class NotFound(DomainError):
    """The object does not exist (or the caller may not see it)."""


class Forbidden(DomainError):
    """The caller may see the object but may not take this action."""


class Conflict(DomainError):
    """The object changed since the caller read it (optimistic locking)."""


class Unauthenticated(DomainError):
    """No valid session or API token (or wrong login and password)."""


class TooManyRequests(DomainError):
    """Rate-limited (e.g. login attempts); ``retry_after`` says in how many seconds."""
