"""Compliance stages: publishers' opt-outs and URL blocklists, before extraction."""
