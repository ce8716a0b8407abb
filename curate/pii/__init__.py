"""Personal data in European web text: detection, validation and replacement.

:mod:`curate.pii.scan` finds validated spans over a whole Arrow text column using the
detectors in :mod:`curate.pii.detectors`; :mod:`curate.pii.replace` turns them into typed
placeholders or realistic stand-ins. The stage is :class:`curate.stages.pii.PiiScrub`.
"""
