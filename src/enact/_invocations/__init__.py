"""Journaled invocations; the public face is :mod:`enact.invocations`."""
