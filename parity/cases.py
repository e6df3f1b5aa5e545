"""The parity cases, shared by the driver (our env) and the worker (the lingvo 0.14.2 env).

Plain Python only: both processes import it, and they share nothing else. Each case names the
layer family, the params both sides set, and the shapes of the inputs the driver generates.
"""

from __future__ import annotations

import re

# Every case: the family both sides know how to build and run, and its settings. Dimensions are
# small so the whole check runs in seconds; they are large enough that heads, gates and
# projections are not degenerate (no dimension of 1, batch != time).
CASES = {
    "projection": {
        "family": "projection",
        "params": {"input_dim": 16, "output_dim": 8, "has_bias": True, "activation": "RELU"},
        "batch_shape": [5, 3],
    },
    "projection_weight_norm": {
        "family": "projection",
        "params": {
            "input_dim": 16,
            "output_dim": 8,
            "has_bias": True,
            "activation": "TANH",
            "weight_norm": True,
        },
        "batch_shape": [5, 3],
    },
    "layer_norm": {
        "family": "layer_norm",
        "params": {"input_dim": 16},
        "batch_shape": [5, 3],
    },
    # Lingvo's MultiHeadedAttention defaults `use_source_vec_as_attention_value` to True and
    # ours to False, so both cases set it: a params file that leaves it unset gets the
    # projected keys as values in Lingvo and the raw contexts in ours (see NOTES-parity.md).
    "multi_headed_attention": {
        "family": "multi_headed_attention",
        "params": {
            "source_dim": 16,
            "query_dim": 12,
            "hidden_dim": 16,
            "context_dim": 16,
            "num_attention_heads": 4,
            "use_source_vec_as_attention_value": True,
            "enable_ctx_post_proj": True,
            "ctx_post_proj_dim": 12,
        },
        # Source time, source batch and the query batch (a multiple of the source batch, as
        # in beam search: query row i attends source column i % source_batch).
        "source_time": 7,
        "source_batch": 3,
        "query_batch": 6,
    },
    "multi_headed_attention_contexts": {
        "family": "multi_headed_attention",
        "params": {
            "source_dim": 16,
            "query_dim": 16,
            "hidden_dim": 16,
            "context_dim": 8,
            "num_attention_heads": 4,
            "use_source_vec_as_attention_value": False,
            "enable_ctx_pre_proj": True,
        },
        "source_time": 7,
        "source_batch": 3,
        "query_batch": 3,
    },
    # `residual` is TransformerAttentionLayer.add_unnormalized_input, set on both sides: ours
    # defaults to True (x + f(ln(x))), Lingvo 0.14.2 to False (ln(x) + f(ln(x))).
    "transformer_layer": {
        "family": "transformer_layer",
        "params": {"source_dim": 16, "num_attention_heads": 4, "hidden_dim": 32},
        "add_unnormalized_input": True,
        "time": 6,
        "batch": 3,
    },
    "transformer_layer_normalized_residual": {
        "family": "transformer_layer",
        "params": {"source_dim": 16, "num_attention_heads": 4, "hidden_dim": 32},
        "add_unnormalized_input": False,
        "time": 6,
        "batch": 3,
    },
    "transformer_layer_decoder": {
        "family": "transformer_layer",
        "params": {
            "source_dim": 16,
            "num_attention_heads": 4,
            "hidden_dim": 32,
            "mask_self_atten": True,
            "has_aux_atten": True,
        },
        "add_unnormalized_input": True,
        "time": 5,
        "batch": 3,
        "aux_time": 7,
    },
    "lstm_cell": {
        "family": "lstm_cell",
        "params": {"num_input_nodes": 8, "num_output_nodes": 12},
        "time": 4,
        "batch": 3,
    },
    "lstm_cell_projected": {
        "family": "lstm_cell",
        "params": {
            "num_input_nodes": 8,
            "num_output_nodes": 6,
            "num_hidden_nodes": 10,
            "cell_value_cap": 0.5,
            "forget_gate_bias": 1.0,
        },
        "time": 4,
        "batch": 3,
    },
}

# Our variable paths (the `vars` NestedMap keys) to Lingvo's. Lingvo's MultiHeadedAttention
# owns its projection weights directly (`source_proj`, `source_proj_b`) where ours holds a
# `ProjectionLayer` child per projection (`source_proj.w`, `source_proj.b`), and Lingvo's
# TransformerFeedForwardLayer wraps its two layers in a `FeedForwardNet` child named `fflayer`
# where ours holds them as `fc` directly. Everything else has the same path on both sides.
_RENAMES = (
    (re.compile(r"(^|\.)(source_proj|query_proj|ctx_proj|ctx_post_proj)\.w$"), r"\1\2"),
    (re.compile(r"(^|\.)(source_proj|query_proj|ctx_proj|ctx_post_proj)\.b$"), r"\1\2_b"),
    (re.compile(r"(^|\.)fflayer\.fc\["), r"\1fflayer.fflayer.fc["),
)


def LingvoKey(our_key: str) -> str:
    """Returns Lingvo 0.14.2's variable key for one of our `vars` keys."""
    for pattern, replacement in _RENAMES:
        our_key = pattern.sub(replacement, our_key)
    return our_key
