"""Lingvo's TensorFlow 2 core: layers, learners, input generators and decoding helpers."""

from lingvo.core import param_codecs as _param_codecs

__version__ = "0.1.0"

# Teach lingvo-params to write and read TensorFlow dtypes and numpy values.
_param_codecs.register_all()


def _DefaultInputParams():
    """Lingvo's default dataset params: `BaseSequenceInputGenerator.Params()`."""
    from lingvo.core import base_input_generator

    return base_input_generator.BaseSequenceInputGenerator.Params()


def _SingleTaskModelParams(task_params):
    """`SingleTaskModel.Params(task_params)`, imported on first use."""
    from lingvo.core import base_model

    return base_model.SingleTaskModel.Params(task_params)


def _RegisterCoreFactories():
    from lingvo.params import base_model_params

    base_model_params.SetCoreFactories(
        input_params_fn=_DefaultInputParams, single_task_model_fn=_SingleTaskModelParams
    )


# Let lingvo-params' SingleTaskModelParams build input and model params from lingvo-core.
_RegisterCoreFactories()
