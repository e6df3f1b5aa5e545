"""Command-line tools of the lm family: the lm1b-layout vocabulary builder."""
