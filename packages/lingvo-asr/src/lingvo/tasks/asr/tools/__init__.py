"""Command-line tools of the asr family."""
