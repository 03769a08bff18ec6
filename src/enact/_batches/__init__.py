"""Batches of durable runs (the implementation of :mod:`enact.batches`)."""
