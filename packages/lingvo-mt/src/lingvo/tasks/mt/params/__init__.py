"""Registered mt experiments, discovered through the `lingvo.model_params` entry point.

Importing this package imports every experiment module of the family, so that the registry
sees their `@RegisterSingleTaskModel` classes: `mt.wmt14_en_de.WmtEnDeTransformerBase`,
`mt.wmt14_en_de.WmtEnDeTransformerSmall`, `mt.wmt14_en_de.WmtEnDeRNMT`,
`mt.wmtm16_en_de.WmtCaptionEnDeTransformer` and `mt.synthetic_en_de.SyntheticEnDeTransformer`.
"""

from lingvo.tasks.mt.params import synthetic_en_de, wmt14_en_de, wmtm16_en_de  # noqa: F401
