"""Command-line tools that ship with the trainer (data preparation)."""
