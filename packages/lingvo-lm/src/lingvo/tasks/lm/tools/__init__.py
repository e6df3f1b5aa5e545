"""Command-line tools of the lm family: the lm1b vocabulary builder, scoring and sampling."""
