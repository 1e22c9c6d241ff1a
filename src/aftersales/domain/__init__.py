"""Pure domain core: no I/O, no framework, no clock reads.

Every decision is a function of (facts, policy, now).
"""
