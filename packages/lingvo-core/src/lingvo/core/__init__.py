"""Lingvo's TensorFlow 2 core: layers, learners, input generators and decoding helpers."""

from lingvo.core import param_codecs as _param_codecs

__version__ = "0.1.0"

# Teach lingvo-params to write and read TensorFlow dtypes and numpy values.
_param_codecs.register_all()
