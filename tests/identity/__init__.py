"""Tests of a value's identity: encodings, digests and what is remembered."""
