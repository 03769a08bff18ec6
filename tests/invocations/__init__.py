"""Tests of journaled invocations, replay and human input, and of the
original examples (docs/compatibility.md#invocations)."""
