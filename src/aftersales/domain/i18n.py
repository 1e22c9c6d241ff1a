"""Message markers for text shown to people.

The domain never translates: it carries English message ids (extracted by Babel from
calls to :func:`N_`) plus parameters; interfaces translate with the caller's locale.
"""


def N_(message: str) -> str:
    """Mark ``message`` for extraction into the Babel catalog without translating it."""
    return message
