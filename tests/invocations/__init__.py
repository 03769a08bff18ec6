"""Tests of journaled invocations, replay and human input (SPEC A11, Part C)."""
