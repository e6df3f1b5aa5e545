"""The `train` and `eval` params of tasks and models, and the legacy-learner conversion."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from lingvo.core import hyperparams, learner, optimizer, schedule

# Loop and checkpoint settings a SingleTaskModel copies from its task to `model.train`;
# runners read them from the model level.
MODEL_TRAIN_KEYS = (
    "start_up_delay_steps",
    "max_steps",
    "tpu_steps_per_loop",
    "tpu_device_order_mode",
    "tpu_computation_shape",
    "early_stop",
    "enqueue_max_steps",
    "save_interval_seconds",
    "save_interval_steps",
    "save_max_to_keep",
    "save_keep_checkpoint_every_n_hours",
    "summary_interval_steps",
    "async_checkpointing",
    "checkpoint_finite_check",
    "ema_decay",
    "ema_decay_moving_vars",
    "ema_schedule",
)

# Settings the model level holds that are not copied from a task.
_MODEL_ONLY_KEYS = ("init_from_checkpoint_rules", "init_from_checkpoint_override")

EMA_KEYS = ("ema_decay", "ema_decay_moving_vars", "ema_schedule")

# Task-level optimisation settings that Lingvo moves into one Learner named `loss`.
LEGACY_LEARNER_KEYS = (
    "learning_rate",
    "lr_schedule",
    "optimizer",
    "l1_regularizer_weight",
    "l2_regularizer_weight",
    "clip_gradient_norm_to_value",
    "clip_gradient_single_norm_to_value",
    "grad_norm_to_clip_to_zero",
    "bprop_variable_filter",
    "bprop_variable_exclusion",
    "scale_gradients",
)


def EarlyStopParams() -> hyperparams.Params:
    """Returns Lingvo's early-stopping params; `window` 0 (the default) disables it."""
    p = hyperparams.Params()
    p.Define("metric_history", hyperparams.Params(), "The history of the watched metric.")
    mh = p.metric_history
    mh.Define("jobname", "eval_dev", "The job whose summaries hold the metric.")
    mh.Define("metric", "log_pplx", "The name of the metric watched.")
    mh.Define("minimize", True, "Whether lower values of the metric are better.")
    mh.Define("logdir", "", "The log directory; the runner sets it.")
    mh.Define(
        "tfevent_file",
        False,
        "Whether the history is read from the job's event files instead of a text file.",
    )
    mh.Define("local_filesystem", False, "Kept for params compatibility; unused.")
    p.Define(
        "tolerance",
        0.0,
        "How much a value must beat the best one by to count as an improvement.",
    )
    p.Define(
        "window",
        0,
        "Training stops when the best step is more than this many steps old; 0 disables it.",
    )
    p.Define("verbose", True, "Whether each check is logged.")
    p.Define("min_steps", 0, "Training never stops before this step.")
    p.Define(
        "logging_interval",
        100,
        "The step period at which training metrics are appended to the history (TPU).",
    )
    return p


def _DefineLoopParams(tp: hyperparams.Params) -> None:
    """Defines the loop and checkpoint settings shared by task and model `train` params."""
    tp.Define(
        "start_up_delay_steps",
        200,
        "Asynchronous trainer i waits for global step i * (i + 1) / 2 * this before starting.",
    )
    tp.Define("max_steps", 4_000_000, "Training stops once the global step reaches this.")
    tp.Define("tpu_steps_per_loop", 1000, "The number of training steps per device loop.")
    tp.Define("tpu_device_order_mode", None, "How TPU cores are assigned; kept for compatibility.")
    tp.Define("tpu_computation_shape", None, "The TPU computation shape; kept for compatibility.")
    tp.Define("early_stop", EarlyStopParams(), "The early-stopping params.")
    tp.Define(
        "ema_decay",
        0.0,
        "If > 0, an exponential moving average of the weights is kept with this decay (< 1).",
    )
    tp.Define(
        "ema_decay_moving_vars",
        None,
        "Whether the moving statistics (e.g. batch norm's) are averaged as well.",
    )
    tp.Define(
        "ema_schedule",
        None,
        "If set, a schedule whose value is the moving-average decay (overrides ema_decay).",
    )
    tp.Define(
        "init_from_checkpoint_rules",
        {},
        "Rules {checkpoint: ([(regex, format)], [ignore regex])} loading variables at start.",
    )
    tp.Define(
        "init_from_checkpoint_override",
        None,
        "If set, replaces the checkpoint of the single init_from_checkpoint_rules entry; '' "
        "disables the rules.",
    )
    tp.Define("enqueue_max_steps", -1, "The most input enqueue steps (tests); -1 is unlimited.")
    tp.Define("save_interval_seconds", 600, "The wall-clock period of checkpoint saves.")
    tp.Define(
        "save_interval_steps",
        None,
        "If set, checkpoints are saved every this many steps instead of by time.",
    )
    tp.Define("save_max_to_keep", 100, "The number of most recent checkpoints kept.")
    tp.Define(
        "save_keep_checkpoint_every_n_hours",
        0.5,
        "Besides the most recent ones, one checkpoint per this many hours is kept for good.",
    )
    tp.Define("summary_interval_steps", 100, "The step period of training summaries.")
    tp.Define("async_checkpointing", True, "Whether checkpoints are written asynchronously.")
    tp.Define(
        "checkpoint_finite_check",
        False,
        "Whether a checkpoint with a non-finite variable is refused.",
    )


def ModelTrainParams() -> hyperparams.Params:
    """Returns the `train` params of a model: the loop settings runners read."""
    tp = hyperparams.Params()
    _DefineLoopParams(tp)
    return tp


def TaskTrainParams() -> hyperparams.Params:
    """Returns the `train` params of a task: loop settings plus optimisation settings."""
    tp = hyperparams.Params()
    _DefineLoopParams(tp)
    tp.Define("vn_start_step", 200_000_000, "Variational noise starts at this global step.")
    tp.Define("vn_std", 0.0, "The standard deviation of the variational noise; 0 disables it.")
    tp.Define("pruning_hparams_dict", None, "Model-pruning settings; kept for compatibility.")
    tp.Define(
        "keep_per_example_loss",
        False,
        "Whether the per-example loss is also reported, as per_example_loss.",
    )
    tp.Define(
        "learner",
        None,
        "The Learner params, or a list of them (one per loss); None builds one Learner "
        "named loss from the legacy fields below.",
    )
    tp.Define(
        "learning_rate", 0.0, "The base learning rate; the effective one is times lr_schedule."
    )
    tp.Define(
        "lr_schedule",
        schedule.ContinuousSchedule.Params(),
        "The schedule whose value multiplies learning_rate.",
    )
    tp.Define("optimizer", optimizer.Adam.Params(), "The optimizer params.")
    tp.Define("l1_regularizer_weight", None, "If set, the weight of the L1 term of the weights.")
    tp.Define("l2_regularizer_weight", None, "If set, the weight of the L2 term of the weights.")
    tp.Define(
        "clip_gradient_norm_to_value",
        0.0,
        "If > 0, gradients are scaled so that their global norm is at most this.",
    )
    tp.Define(
        "clip_gradient_single_norm_to_value",
        0.0,
        "If > 0, each gradient is clipped to this norm on its own.",
    )
    tp.Define(
        "grad_norm_to_clip_to_zero",
        0.0,
        "If > 0, a step whose global gradient norm reaches this applies zero gradients.",
    )
    tp.Define("grad_norm_tracker", None, "Gradient-norm outlier tracking; not supported yet.")
    tp.Define(
        "bprop_variable_filter",
        None,
        "If set, only variables whose name this regex finds are trained.",
    )
    tp.Define(
        "bprop_variable_exclusion",
        None,
        "If set, variables whose name this regex finds are not trained.",
    )
    tp.Define(
        "grad_aggregation_method",
        "EXPERIMENTAL_TREE",
        "A tf.gradients option of TF1; kept for params compatibility, unused.",
    )
    tp.Define(
        "gate_gradients", False, "A tf.gradients option of TF1; kept for compatibility, unused."
    )
    tp.Define(
        "colocate_gradients_with_ops",
        True,
        "A tf.gradients option of TF1; kept for params compatibility, unused.",
    )
    tp.Define("scale_gradients", True, "Whether gradient clipping and zeroing apply at all.")
    tp.Define(
        "learner_use_variable_scope",
        True,
        "A checkpoint-compatibility option of Lingvo; kept for params compatibility, unused.",
    )
    return tp


def EvalParams() -> hyperparams.Params:
    """Returns the `eval` params of a task (evaler and decoder settings)."""
    ep = hyperparams.Params()
    ep.Define(
        "samples_per_summary",
        1000,
        "The evaler stops after this many samples (whole batches); 0 evaluates the whole "
        "dataset, which needs a resettable input.",
    )
    ep.Define(
        "decoder_samples_per_summary",
        None,
        "The same for the decoder; None uses samples_per_summary.",
    )
    ep.Define(
        "load_checkpoint_from",
        "",
        "If set, this checkpoint (file or directory) is evaluated or decoded once.",
    )
    ep.Define("start_eval_after", 0, "The evaler skips checkpoints of earlier global steps.")
    ep.Define("start_decoder_after", 0, "The decoder skips checkpoints of earlier steps.")
    ep.Define("eval_all_checkpoints", False, "Whether every retained checkpoint is evaluated.")
    ep.Define("decode_all_checkpoints", False, "Whether every retained checkpoint is decoded.")
    return ep


def LearnerParamsList(train: hyperparams.Params) -> list[hyperparams.InstantiableParams]:
    """Returns the task's learner params as a list, building Lingvo's default if needed.

    With `train.learner` None, one `Learner` named `loss` takes the legacy optimisation
    fields, which are then set to None in `train` (as Lingvo does) so that nobody reads
    stale copies.

    Args:
      train: The task's `train` params; modified in place when converting legacy fields.

    Returns:
      The learner params, copied.
    """
    if train.learner is not None:
        lps = train.learner if isinstance(train.learner, (list, tuple)) else [train.learner]
        names = [lp.name for lp in lps]
        if len(set(names)) != len(names):
            raise ValueError(f"task learners must have distinct names, got {names}")
        return [lp.Copy() for lp in lps]
    lp = learner.Learner.Params()
    lp.name = "loss"
    for key in LEGACY_LEARNER_KEYS:
        value = train.Get(key)
        if value is not None:
            lp.Set(**{key: value.Copy() if isinstance(value, hyperparams.Params) else value})
        train.Set(**{key: None})
    return [lp]


def CheckEmaMatch(model_train: hyperparams.Params, task_train: Any, where: str) -> None:
    """Raises ValueError if a task's moving-average settings differ from the model's."""
    for key in EMA_KEYS:
        a, b = model_train.Get(key), task_train.Get(key)
        if a != b:
            raise ValueError(
                f"{where}: train.{key} is {b!r} in the task but {a!r} in the model; the "
                "moving average is configured once, so they must match"
            )


def CheckEmaDecay(train: hyperparams.Params, where: str) -> None:
    """Raises ValueError if `ema_decay` is outside [0, 1)."""
    if not 0.0 <= train.ema_decay < 1.0:
        raise ValueError(f"{where}: train.ema_decay must lie in [0, 1), got {train.ema_decay}")


def GlobalStepVariable(name: str) -> tf.Variable:
    """Returns a new int64 step counter starting at 0."""
    with tf.init_scope():
        return tf.Variable(tf.constant(0, tf.int64), trainable=False, name=name)
