"""Background jobs: the deadline sweeper (and, later, the outbox dispatcher)."""
