"""Pipeline stages: each a callable ``batch -> batch`` configured from its recipe section.

A stage marks rejected rows by setting ``drop_reason`` (see :mod:`curate.schema`); the engine
removes them, counts them and passes the rest on. Stages know nothing about the engine.
"""
