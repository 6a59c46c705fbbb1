"""Tests of rules/: the engine, primitives and the pack's own examples."""
