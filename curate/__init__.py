"""curate: multilingual web-corpus curation, WARC to clean per-language training data."""

__version__ = "0.1.0"
