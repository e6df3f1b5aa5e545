"""MT data tools, each a module run with `python -m lingvo.tasks.mt.tools.<name>`.

- `synthetic_corpus`: a deterministic English-German corpus with real reordering.
- `wpm_learn`: learns a word-piece vocabulary in the `wpm-ende-2k.voc` layout.
- `wpm_encode`: parallel text to Lingvo's NMT tf.Example TFRecords, with counted drops.
- `multi30k`: the Multi30k recipe for `mt.wmtm16_en_de.WmtCaptionEnDeTransformer`.
- `translate`: translates text with the newest checkpoint of a trained model.

The modules are not imported here, so that `python -m` runs each without a warning.
"""
