"""Engines run work units: ``local`` (a process pool on this machine) and ``ray``."""
