"""Data tools for machine translation: corpora, word-piece vocabularies, TFRecords, translation."""
