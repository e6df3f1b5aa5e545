"""Registered lm experiments, discovered through the `lingvo.model_params` entry point.

Importing this package imports every experiment module of the family, so that the registry
sees their `@RegisterSingleTaskModel` classes: `lm.one_billion_wds.WordLevelOneBwdsBase`,
`lm.one_billion_wds.WordLevelOneBwdsSimpleSampledSoftmax`, its `...Tiny` and the CPU-sized
`lm.one_billion_wds.WordLevelOneBwdsCpu`; `lm.multi30k.LstmLm` and `lm.multi30k.TransformerLm`
(the benchmark models, on the English side of Multi30k).
"""

from lingvo.tasks.lm.params import (
    multi30k,  # noqa: F401
    one_billion_wds,  # noqa: F401
)
