"""Shared builders of the MT experiments: Transformer and RNMT+ task params, input params."""

from __future__ import annotations

import math

from lingvo.core import hyperparams, optimizer, schedule, weights
from lingvo.core.layers import attentions, rnn_cells
from lingvo.tasks.mt import decoder, input_generator, model

__all__ = [
    "InitTestDatasetParams",
    "InitTrainDatasetParams",
    "SetupRNMTParams",
    "SetupTransformerParams",
]


def InitTrainDatasetParams(
    vocab_size: int | None = None, params: hyperparams.Params | None = None
) -> hyperparams.Params:
    """Returns `NmtInput` params for training: shuffled reads, Lingvo's WMT buckets.

    Args:
      vocab_size: Unused; kept for Lingvo's signature.
      params: Input params to start from; default `NmtInput.Params()`.
    """
    del vocab_size
    p = params if params is not None else input_generator.NmtInput.Params()
    p.file_random_seed = 0
    p.file_parallelism = 16
    p.file_buffer_size = 10000000
    p.bucket_upper_bound = [8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64, 80, 96]
    p.bucket_batch_limit = [512, 409, 341, 292, 256, 204, 170, 146, 128, 102, 85, 73, 64, 51, 42]
    return p


def InitTestDatasetParams(
    vocab_size: int | None = None, params: hyperparams.Params | None = None
) -> hyperparams.Params:
    """Returns `NmtInput` params for evaluation: one ordered pass, Lingvo's eval buckets.

    The pass is explicit (`require_sequential_order`, `repeat_count=1`) rather than left to
    the job's evaluation mode, so a decoder reads each record exactly once whoever builds
    the input.

    Args:
      vocab_size: Unused; kept for Lingvo's signature.
      params: Input params to start from; default `NmtInput.Params()`.
    """
    del vocab_size
    p = params if params is not None else input_generator.NmtInput.Params()
    p.file_random_seed = 27182818
    p.file_parallelism = 1
    p.file_buffer_size = 1
    p.bucket_upper_bound = [10, 14, 19, 26, 36, 50, 70, 98, 137, 200]
    p.bucket_batch_limit = [16] * 8 + [4] * 2
    p.require_sequential_order = True
    p.repeat_count = 1
    return p


def SetupTransformerParams(
    p: hyperparams.Params,
    name: str,
    vocab_size: int,
    model_dim: int,
    hidden_dim: int,
    num_heads: int,
    num_layers: int,
    learning_rate: float,
    warmup_steps: int,
    residual_dropout_prob: float = 0.1,
    input_dropout_prob: float = 0.0,
    atten_dropout_prob: float = 0.0,
    relu_dropout_prob: float = 0.0,
    label_smoothing_uncertainty: float = 0.1,
    add_unnormalized_residuals: bool = True,
    num_softmax_shards: int = 16,
) -> hyperparams.Params:
    """Fills `TransformerModel` params as Lingvo's `base_config.SetupTransformerParams` does.

    Adam (0.9, 0.98, 1e-9) under `TransformerSchedule(warmup_steps, model_dim)`, no
    clipping, Xavier(1.0) attention and feed-forward weights, Gaussian(1/sqrt(model_dim))
    embeddings and softmax, the values' pre-projection on, per-word loss with uniform label
    smoothing, and `eval.samples_per_summary` 12000.

    Args:
      p: `TransformerModel.Params()`, changed in place.
      name: The task name.
      vocab_size: The shared source/target vocabulary size.
      model_dim: The model depth.
      hidden_dim: The feed-forward hidden depth.
      num_heads: The attention heads.
      num_layers: The encoder and decoder layers (each).
      learning_rate: Multiplies the schedule.
      warmup_steps: The schedule's warm-up steps.
      residual_dropout_prob: The residual dropout.
      input_dropout_prob: The embedding dropout.
      atten_dropout_prob: The attention-weight dropout.
      relu_dropout_prob: The feed-forward hidden dropout.
      label_smoothing_uncertainty: The label-smoothing mass.
      add_unnormalized_residuals: Whether residuals add the raw (not normalised) input.
      num_softmax_shards: The decoder softmax's weight shards.

    Returns:
      `p`.
    """
    p.name = name
    emb_init = weights.WeightInit.Gaussian(1.0 / math.sqrt(model_dim))
    xavier = weights.WeightInit.Xavier(1.0)
    for half, stack_name in ((p.encoder, "transformer_stack"), (p.decoder, "trans_stack")):
        half.model_dim = model_dim
        half.input_dropout_prob = input_dropout_prob
        half.token_emb.Set(vocab_size=vocab_size, params_init=emb_init.Copy())
        stack = half.Get(stack_name)
        stack.Set(
            num_layers=num_layers,
            hidden_dim=hidden_dim,
            num_atten_heads=num_heads,
            atten_dropout_prob=atten_dropout_prob,
            residual_dropout_prob=residual_dropout_prob,
            relu_dropout_prob=relu_dropout_prob,
        )
        layer = stack.transformer_layer_params_tpl
        layer.tr_atten_tpl.add_unnormalized_input = add_unnormalized_residuals
        layer.tr_atten_tpl.atten_tpl.Set(
            enable_ctx_pre_proj=True, enable_ctx_post_proj=True, params_init=xavier.Copy()
        )
        layer.tr_fflayer_tpl.params_init = xavier.Copy()
    d = p.decoder
    d.source_dim = model_dim
    d.softmax.Set(num_classes=vocab_size, num_shards=num_softmax_shards, params_init=emb_init)
    d.per_word_avg_loss = True
    d.label_smoothing = decoder.UniformLabelSmoother.Params().Set(
        num_classes=vocab_size, uncertainty=label_smoothing_uncertainty
    )
    tp = p.train
    tp.learning_rate = learning_rate
    tp.optimizer = optimizer.Adam.ParamsB()
    tp.clip_gradient_norm_to_value = 0.0
    tp.grad_norm_to_clip_to_zero = 0.0
    tp.lr_schedule = schedule.TransformerSchedule.Params().Set(
        warmup_steps=warmup_steps, model_dim=model_dim
    )
    p.eval.samples_per_summary = 12000
    return p


def SetupRNMTParams(
    p: hyperparams.Params,
    name: str,
    vocab_size: int,
    embedding_dim: int,
    hidden_dim: int,
    num_heads: int,
    num_encoder_layers: int,
    num_decoder_layers: int,
    learning_rate: float,
    lr_warmup_steps: int,
    lr_decay_start: int,
    lr_decay_end: int,
    lr_min: float,
    atten_dropout_prob: float,
    residual_dropout_prob: float,
    ls_uncertainty: float,
    l2_regularizer_weight: float | None = None,
    num_hyps_per_beam: int = 16,
) -> hyperparams.Params:
    """Fills `RNMTModel` params as Lingvo's `base_config.SetupRNMTParams` does.

    Layer-normalised LSTMs (no output nonlinearity) with Uniform(0.04) weights,
    multi-headed additive attention, the context fed to the softmax, label smoothing,
    Adam (0.9, 0.98, 1e-6) under a linear ramp-up and exponential decay, gradients zeroed
    above a norm of 100000.

    Args:
      p: `RNMTModel.Params()`, changed in place.
      name: The task name.
      vocab_size: The shared vocabulary size.
      embedding_dim: The embedding depth of both halves.
      hidden_dim: The LSTM depth (per direction in the encoder) and encoder output depth.
      num_heads: The attention heads.
      num_encoder_layers: The bidirectional encoder layers.
      num_decoder_layers: The decoder LSTM layers, the attention layer included.
      learning_rate: Multiplies the schedule.
      lr_warmup_steps: The schedule's warm-up.
      lr_decay_start: The step the decay starts.
      lr_decay_end: The step the decay ends.
      lr_min: The schedule's final value.
      atten_dropout_prob: The attention dropout.
      residual_dropout_prob: The dropout of embeddings and layers.
      ls_uncertainty: The label-smoothing mass.
      l2_regularizer_weight: The L2 weight, or None.
      num_hyps_per_beam: The beam width.

    Returns:
      `p`.
    """
    p.name = name
    cell = rnn_cells.LayerNormalizedLSTMCellSimple.Params().Set(
        output_nonlinearity=False, params_init=weights.WeightInit.Uniform(0.04)
    )
    e = p.encoder
    e.emb.Set(vocab_size=vocab_size, embedding_dim=embedding_dim)
    e.lstm_tpl = cell.Copy()
    e.Set(
        num_lstm_layers=num_encoder_layers,
        lstm_cell_size=hidden_dim,
        encoder_out_dim=hidden_dim,
        dropout_prob=residual_dropout_prob,
    )
    d = p.decoder
    d.emb.Set(vocab_size=vocab_size, embedding_dim=embedding_dim)
    d.rnn_cell_tpl = cell.Copy()
    d.Set(
        source_dim=hidden_dim,
        rnn_cell_dim=hidden_dim,
        rnn_layers=num_decoder_layers,
        dropout_prob=residual_dropout_prob,
        feed_attention_context_vec_to_softmax=True,
    )
    d.attention = attentions.MultiHeadedAttention.Params().Set(
        hidden_dim=hidden_dim,
        num_attention_heads=num_heads,
        inner_atten_params=attentions.AdditiveAttention.Params(),
        use_source_vec_as_attention_value=True,
        enable_ctx_pre_proj=False,
        atten_dropout_prob=atten_dropout_prob,
        atten_dropout_deterministic=True,
    )
    d.softmax.Set(num_classes=vocab_size)
    d.label_smoothing = decoder.UniformLabelSmoother.Params().Set(
        num_classes=vocab_size, uncertainty=ls_uncertainty
    )
    d.beam_search.num_hyps_per_beam = num_hyps_per_beam
    tp = p.train
    tp.learning_rate = learning_rate
    tp.l2_regularizer_weight = l2_regularizer_weight
    tp.optimizer = optimizer.Adam.Params().Set(beta1=0.9, beta2=0.98, epsilon=1e-6)
    tp.grad_norm_to_clip_to_zero = 100000.0
    tp.lr_schedule = schedule.LinearRampupExponentialDecayScaledByNumSplitSchedule.Params().Set(
        warmup=lr_warmup_steps, decay_start=lr_decay_start, decay_end=lr_decay_end, min=lr_min
    )
    return p


def TransformerParams() -> hyperparams.Params:
    """`TransformerModel.Params()`, for the experiment modules."""
    return model.TransformerModel.Params()


def RNMTParams() -> hyperparams.Params:
    """`RNMTModel.Params()`, for the experiment modules."""
    return model.RNMTModel.Params()
