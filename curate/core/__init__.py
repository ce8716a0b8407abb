"""The bottom layer: what every other layer may use and nothing here imports from above.

The document schema (:mod:`curate.schema`) and run statistics (:mod:`curate.stats`) belong to
this layer too; they predate the package and keep their import paths.
"""
