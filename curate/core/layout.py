"""File names in a run's output that more than one layer needs (the runner clears what the
card wrote; the card writes it)."""

README = "README.md"
EU_SUMMARY = "EU_TRAINING_CONTENT_SUMMARY.md"
