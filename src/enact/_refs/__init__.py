"""Refs and the store, one concept per module (public face:
:mod:`enact.references`)."""

__all__: list[str] = []
