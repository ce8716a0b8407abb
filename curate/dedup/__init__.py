"""Exact and MinHash near-duplicate removal over a whole corpus.

:mod:`curate.dedup.minhash` turns a batch of texts into hashes and signatures (vectorized),
:mod:`curate.dedup.lsh` turns band hashes into clusters, and :mod:`curate.stages.dedup` runs both
over every output shard as a corpus pass.
"""
