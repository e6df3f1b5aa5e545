"""Registered lm experiments, discovered through the `lingvo.model_params` entry point.

Importing this package imports every experiment module of the family, so that the registry
sees their `@RegisterSingleTaskModel` classes: `lm.one_billion_wds.WordLevelOneBwdsBase`,
`lm.one_billion_wds.WordLevelOneBwdsSimpleSampledSoftmax`, its `...Tiny` and the CPU-sized
`lm.one_billion_wds.WordLevelOneBwdsCpu`.
"""

from lingvo.tasks.lm.params import one_billion_wds  # noqa: F401
