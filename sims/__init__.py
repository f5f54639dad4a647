"""Deterministic network simulator, nemeses, invariants and fuzzing for hacore."""
