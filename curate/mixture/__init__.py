"""Training mixtures from tokenized runs: planning (``plan``) and writing (``write``)."""
