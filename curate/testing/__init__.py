"""Helpers for tests and benchmarks (synthetic WARCs, reference filters); not used by runs."""
