"""Delivery of what must not be lost: an outbox in the database, drained with retries under idempotency keys."""
