"""Tools around runs: quality calibration, language-ID evaluation, output summaries."""
