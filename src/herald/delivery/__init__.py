"""Acting after commit: the outbox worker and the scheduler."""
