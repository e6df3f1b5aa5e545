"""A downstream research package that registers its own experiments (used by the demo)."""
