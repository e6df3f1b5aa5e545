"""Writes our WmtCaptionEnDeTransformer checkpoint as a Lingvo 0.14.2 checkpoint (`mt_decode`).

`mt_decode` decodes one set of weights on both sides, so that both beam searches do the same
work. Run under Lingvo's Python (any TensorFlow 2 works):
  python mt_lingvo_checkpoint.py <our checkpoint prefix> <lingvo train dir> [embedding shards]

Our names map one to one onto Lingvo's (`enc/transformer_stack/x_layers/<i>/self_atten/...` ->
`enc/trans_<i>/multihead_self_atten/...`, `.../w` -> `.../var`, `.../b` -> `..._b/var` for the
attention projections, ...). The one layout change: our token embedding is one [V, D] matrix
while Lingvo's is `embedding shards` matrices addressed with TF1's `mod` partition strategy
(row r of shard s is id r * shards + s). A wrong shard count fails Lingvo's restore with a
shape error naming the variable.
"""

from __future__ import annotations

import os
import re
import sys

import numpy as np
import tensorflow as tf

TASK = "wmt14_en_de_transformer_base"
_ATTEN_PROJ = ("query_proj", "source_proj", "ctx_proj", "ctx_post_proj")


def _LayerPart(part: str) -> str | None:
    """Maps the part of a name below a Transformer layer; None when it is not a weight."""
    m = re.fullmatch(r"(self_atten|atten)/(.*)", part)
    if m:
        block = "multihead_self_atten" if m.group(1) == "self_atten" else "multihead_atten"
        rest = m.group(2)
        if rest.startswith("layer_norm/"):
            return f"{block}/atten_ln/{rest.split('/', 1)[1]}/var"
        if rest == "atten/atten/per_dim_scale":
            return f"{block}/multihead_atten/inner_att/per_dim_scale/var"
        m2 = re.fullmatch(r"atten/(\w+)/([wb])", rest)
        if m2 and m2.group(1) in _ATTEN_PROJ:
            suffix = "" if m2.group(2) == "w" else "_b"
            return f"{block}/multihead_atten/{m2.group(1)}{suffix}/var"
        return None
    m = re.fullmatch(r"fflayer/fc/(\d)/([wb])", part)
    if m:
        return f"tr_fflayer/fflayer/fflayer_{m.group(1)}/{m.group(2)}/var"
    m = re.fullmatch(r"fflayer/layer_norm/(bias|scale)", part)
    if m:
        return f"tr_fflayer/fflayer_ln/{m.group(1)}/var"
    return None


def LingvoName(ours: str) -> str | None:
    """Our checkpoint key -> Lingvo's variable name; None for keys Lingvo does not restore."""
    if ours == "model/global_step/.ATTRIBUTES/VARIABLE_VALUE":
        return "global_step"
    m = re.fullmatch(r"model/task/(enc|dec)/(.*)/\.ATTRIBUTES/VARIABLE_VALUE", ours)
    if not m:
        return None
    half, rest = m.groups()
    if rest == "token_emb/wm":
        return f"{TASK}/{half}/token_emb"  # split into shards by the caller
    m2 = re.fullmatch(r"softmax/((?:weight|bias)_\d+)", rest)
    if m2 and half == "dec":
        return f"{TASK}/dec/softmax/{m2.group(1)}/var"
    m2 = re.fullmatch(r"(?:transformer_stack|trans_stack)/x_layers/(\d+)/(.*)", rest)
    if m2:
        layer = f"trans_{m2.group(1)}" if half == "enc" else f"trans_layer_{m2.group(1)}"
        part = _LayerPart(m2.group(2))
        return None if part is None else f"{TASK}/{half}/{layer}/{part}"
    return None


def Convert(ours_prefix: str, train_dir: str, emb_shards: int = 2) -> tuple[str, int]:
    """Writes `train_dir/ckpt-<step>` in Lingvo's layout; returns its prefix and the count."""
    reader = tf.train.load_checkpoint(ours_prefix)
    values: dict[str, np.ndarray] = {}
    for key in reader.get_variable_to_shape_map():
        name = LingvoName(key)
        if name is None:
            continue
        value = reader.get_tensor(key)
        if name.endswith("/token_emb"):
            for s in range(emb_shards):
                values[f"{name}/var_{s}/var"] = value[s::emb_shards]
        else:
            values[name] = value
    if "global_step" not in values:
        raise ValueError(f"{ours_prefix} holds no model/global_step")
    step = int(values["global_step"])
    os.makedirs(train_dir, exist_ok=True)
    prefix = os.path.join(train_dir, f"ckpt-{step:08d}")
    with tf.Graph().as_default():
        var_list = {}
        for name, value in values.items():
            dtype = tf.int64 if name == "global_step" else tf.float32
            var_list[name] = tf.compat.v1.Variable(value.astype(dtype.as_numpy_dtype), name="v")
        saver = tf.compat.v1.train.Saver(var_list=var_list)
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            saver.save(sess, prefix, write_meta_graph=False)
    return prefix, len(values)


def main() -> None:
    ours, train_dir = sys.argv[1:3]
    shards = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    prefix, count = Convert(ours, train_dir, shards)
    print(f"wrote {count} variables to {prefix}")


if __name__ == "__main__":
    main()
