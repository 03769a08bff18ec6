"""Store and backend tests: conformance, state machines, damage, concurrency."""
