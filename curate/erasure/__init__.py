"""Right to erasure: ``curate erase``, erasure lists and logs (see :mod:`curate.erasure.erase`)."""
