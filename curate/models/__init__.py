"""Language-ID models and tokenizers, with their tables as package data (``data/``)."""
