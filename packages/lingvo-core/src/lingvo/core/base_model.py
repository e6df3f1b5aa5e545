"""Tasks and models: `BaseTask`, `BaseModel`, `SingleTaskModel` and `MultiTaskModel`."""

from __future__ import annotations

import os
import pickle
from collections.abc import Mapping
from typing import Any

import tensorflow as tf

from lingvo.core import (
    _task_params,
    base_layer,
    ema,
    hyperparams,
    model_analysis,
    run_mode,
    task_scheduler,
    weights,
)
from lingvo.core.nested_map import NestedMap

__all__ = ["BaseModel", "BaseTask", "MultiTaskModel", "SingleTaskModel"]

# Children of a task that hold training bookkeeping, not what the model learns.
_BOOKKEEPING_KEYS = ("learners", "ema_schedule")


def _FirstTensor(nest: Any) -> tf.Tensor | None:
    for x in tf.nest.flatten(nest):
        if isinstance(x, (tf.Tensor, tf.Variable)) or hasattr(x, "shape"):
            return tf.convert_to_tensor(x)
    return None


def _SetTracked(module: tf.Module, name: str, value: Any) -> None:
    """Sets an attribute that checkpoints see (not a child layer, not in `vars`)."""
    tf.Module.__setattr__(module, name, value)


class BaseTask(base_layer.BaseLayer):
    """A task: computes metrics from a batch and trains through its learners.

    Subclasses implement `ComputePredictions(theta, input_batch)` and
    `ComputeLoss(theta, predictions, input_batch)`, which returns `(metrics, per_example)`:
    `metrics` maps a name to a `(scalar value, scalar weight)` pair and must hold `loss`;
    evaluation averages each metric over batches by its weight. `TrainStep(input_batch)`
    runs one training step: forward pass, each learner's update, post-step hooks, the moving
    average of the weights and the step increment.

    With `fprop_dtype=tf.bfloat16` the forward pass runs in bfloat16 while the variables,
    the gradients' updates and the reported metrics stay float32.

    Children: `learners` (the list of `Learner`s, one per loss) and, with
    `train.ema_schedule`, `ema_schedule`; attributes: `global_step` (the model's, unless
    `task_global_step` or the task is built alone) and `ema` (the moving average, or None).
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the task's params: `input`, `train`, `eval` and the base-layer ones."""
        p = super().Params()
        p.Define("input", None, "The input generator params of the dataset this task reads.")
        p.Define("encoder", None, "The encoder params, for tasks that have one.")
        p.Define("online_encoder", None, "The online encoder params, for tasks that have one.")
        p.Define("decoder", None, "The decoder params, for tasks that have one.")
        p.Define(
            "task_global_step",
            False,
            "Whether this task counts its own steps besides the model's global step.",
        )
        p.Define(
            "defer_global_step_update",
            False,
            "Whether a training step leaves the global step alone (e.g. gradient accumulation).",
        )
        p.Define("train", _task_params.TaskTrainParams(), "The training settings.")
        p.Define("eval", _task_params.EvalParams(), "The evaluation and decoding settings.")
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        _task_params.CheckEmaDecay(p.train, f"task {p.name!r}")
        # The input generator is built lazily, possibly outside the `EvalMode()` the task was
        # built in; it must still read an evaluation dataset once, in order.
        object.__setattr__(self, "_built_for_eval", self.do_eval)
        if self.do_eval and p.input is not None:
            self._AdaptEvalParams()
        owner = self._OwningModel()
        if owner is None or p.task_global_step:
            _SetTracked(self, "global_step", _task_params.GlobalStepVariable("global_step"))
        else:
            object.__setattr__(self, "global_step", owner.global_step)
        object.__setattr__(self, "_model_step", None if owner is None else owner.global_step)
        learner_params = _task_params.LearnerParamsList(p.train)
        for lp in learner_params:
            # Learners compute in their own dtype even when the task runs in bfloat16.
            if lp.fprop_dtype is None:
                lp.fprop_dtype = lp.dtype
        self.CreateChildren("learners", learner_params)
        ema_obj = None
        if p.train.ema_decay > 0 or p.train.ema_schedule is not None:
            schedule = None
            if p.train.ema_schedule is not None:
                self.CreateChild("ema_schedule", p.train.ema_schedule)
                schedule = self.ema_schedule
            ema_obj = ema.ExponentialMovingAverage(
                p.train.ema_decay, decay_schedule=schedule, name="ema"
            )
        _SetTracked(self, "ema", ema_obj)
        object.__setattr__(self, "_input_generator", None)

    def _OwningModel(self) -> BaseModel | None:
        parent = self.parent
        while parent is not None and not isinstance(parent, BaseModel):
            parent = parent.parent
        return parent

    def _AdaptEvalParams(self) -> None:
        """Fits the eval sample counts to the dataset size, as Lingvo's evaler expects."""
        p = self.params
        num_samples = getattr(p.input, "num_samples", 0) or 0
        ep = p.eval
        if num_samples > 0:
            if ep.samples_per_summary == 0 or num_samples < ep.samples_per_summary:
                ep.samples_per_summary = num_samples
            if ep.decoder_samples_per_summary is not None:
                ep.decoder_samples_per_summary = min(ep.decoder_samples_per_summary, num_samples)
        for key in ("eval_samples_per_summary", "decoder_samples_per_summary"):
            value = getattr(p.input, key, None)
            if value is not None:
                target = "samples_per_summary" if key.startswith("eval_") else key
                ep.Set(**{target: value})

    # ------------------------------------------------------------------ properties

    @property
    def input_generator(self) -> Any:
        """The input generator built from `params.input` on first use (not a child layer)."""
        if self._input_generator is None:
            if self.params.input is None:
                raise ValueError(f"task {self.params.name!r} has no input params")
            with run_mode.EvalMode(self._built_for_eval):
                generator = self.params.input.Instantiate()
            object.__setattr__(self, "_input_generator", generator)
        return self._input_generator

    def ModelVars(self) -> NestedMap:
        """The task's variables without its learners' bookkeeping (what the model learns)."""
        out = NestedMap(self.vars)
        for key in _BOOKKEEPING_KEYS:
            out.pop(key, None)
        return out

    def TrainableVariables(self) -> list[tf.Variable]:
        """The trainable variables of `ModelVars()`, in flatten order."""
        return [v for v in self.ModelVars().Flatten() if v.trainable]

    # ------------------------------------------------------------------ forward

    def GetInputBatch(self) -> NestedMap:
        """Returns the next batch of the task's input generator."""
        return self.input_generator.GetPreprocessedInputBatch()

    def ComputePredictions(self, theta: NestedMap, input_batch: NestedMap) -> Any:
        """Computes the predictions (e.g. logits) of a batch; subclasses implement this."""
        raise NotImplementedError(f"{type(self).__name__}.ComputePredictions")

    def ComputeLoss(
        self, theta: NestedMap, predictions: Any, input_batch: NestedMap
    ) -> tuple[dict[str, tuple[Any, Any]], dict[str, Any]]:
        """Returns `(metrics, per_example)` of the predictions; subclasses implement this.

        Returns:
          `metrics`: `{name: (scalar value, scalar weight)}` holding at least `loss`;
          `per_example`: `{name: tensor shaped [batch, ...]}`.
        """
        raise NotImplementedError(f"{type(self).__name__}.ComputeLoss")

    def FPropTower(
        self, theta: NestedMap, input_batch: NestedMap
    ) -> tuple[dict[str, tuple[Any, Any]], dict[str, Any]]:
        """`ComputePredictions` then `ComputeLoss`; returns `(metrics, per_example)`."""
        predictions = self.ComputePredictions(theta, input_batch)
        return self.ComputeLoss(theta, predictions, input_batch)

    def FProp(
        self, theta: NestedMap, input_batch: NestedMap
    ) -> tuple[dict[str, tuple[tf.Tensor, tf.Tensor]], dict[str, Any]]:
        """Runs `FPropTower` and finishes its metrics as Lingvo's task does.

        Floating inputs are cast to `fprop_dtype`; metric values and weights come back as
        float32 scalars; `num_samples_in_batch` = (batch size, 1) is added when absent; with
        `train.keep_per_example_loss`, `per_example_loss` is added.

        Args:
          theta: The task's theta (`self.theta`, or e.g. averaged weights).
          input_batch: A `NestedMap` batch whose tensors are shaped [batch, ...].

        Returns:
          `(metrics, per_example)`, the latter filtered by `FilterPerExampleTensors`.

        Raises:
          ValueError: If the metrics lack `loss` or a metric is not a (value, weight) pair.
        """
        if self.fprop_dtype != tf.float32:
            input_batch = self._CastToFPropDtype(input_batch)
        metrics, per_example = self.FPropTower(theta, input_batch)
        out: dict[str, tuple[tf.Tensor, tf.Tensor]] = {}
        for name, pair in metrics.items():
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise ValueError(
                    f"task {self.params.name!r}: metric {name!r} must be a (value, weight) "
                    f"pair, got {pair!r}"
                )
            value, weight = pair
            out[name] = (tf.cast(value, tf.float32), tf.cast(weight, tf.float32))
        if "loss" not in out:
            raise ValueError(
                f"task {self.params.name!r}: ComputeLoss must return a 'loss' metric; got "
                f"{sorted(out)}"
            )
        if "num_samples_in_batch" not in out:
            first = _FirstTensor(input_batch)
            if first is not None and first.shape.rank:
                size = tf.cast(tf.shape(first)[0], tf.float32)
                out["num_samples_in_batch"] = (size, tf.constant(1.0))
        per_example = dict(per_example or {})
        if self.params.train.keep_per_example_loss and "loss" in per_example:
            loss = tf.cast(per_example["loss"], tf.float32)
            out["per_example_loss"] = (tf.reduce_mean(loss), tf.cast(tf.size(loss), tf.float32))
        return out, self.FilterPerExampleTensors(per_example)

    def FPropDefaultTheta(self, input_batch: NestedMap | None = None) -> Any:
        """`FProp(self.theta, input_batch)`; without a batch, reads `GetInputBatch()`."""
        if input_batch is None:
            input_batch = self.GetInputBatch()
        return self.FProp(self.theta, input_batch)

    def FilterPerExampleTensors(self, per_example: dict[str, Any]) -> dict[str, Any]:
        """Returns the per-example tensors to report (Lingvo's default: all of them)."""
        return per_example

    def EvalTheta(self) -> NestedMap:
        """The theta for evaluation: moving averages of the weights when kept, else `theta`."""
        if self.ema is None or not self.ema.shadows:
            return self.theta
        averaged = self.ema.AveragedTheta(self)
        p = self.params
        cast = p.fprop_dtype is not None and p.fprop_dtype != p.dtype

        def Value(v: Any) -> Any:
            if cast and isinstance(v, tf.Variable) and v.dtype == p.dtype:
                return tf.cast(v, p.fprop_dtype)
            return v

        return averaged.Transform(Value)

    # ------------------------------------------------------------------ training

    def AdjustGradients(self, var_grads: list[tuple[tf.Variable, Any]]) -> list[Any]:
        """A hook to change `[(var, grad)]` inside each learner's update (Lingvo's order).

        It sees the gradients with the L1/L2 terms added, after the learner measured the
        global gradient norm and before the non-finite check and clipping (which scales by
        that norm); it does not run when the learner's `scale_gradients` is False.
        """
        return var_grads

    def TrainStep(
        self, input_batch: NestedMap
    ) -> tuple[dict[str, tuple[tf.Tensor, Any]], dict[str, Any]]:
        """Runs one training step on a batch; works eagerly and inside `tf.function`.

        In order: the forward pass (once, for all learners), each learner's gradients and
        update (its loss is the metric named by its `loss_name`, else its name), then
        `PostTrainingStepUpdate`, the moving average of the weights, `PostEmaUpdate`, and
        the global step (and the task step, if separate) goes up by one unless
        `defer_global_step_update`.

        Args:
          input_batch: A `NestedMap` batch.

        Returns:
          `(metrics, per_example)`: the task's metrics plus each learner's statistics
          (`grad_norm/all/loss`, `learning_rate/loss`, ...).
        """
        learners = self.learners
        variables = self.TrainableVariables()
        self.CreateEmaShadows()
        with tf.GradientTape(persistent=len(learners) > 1) as tape:
            metrics, per_example = self.FProp(self.theta, input_batch)
        var_grads = {}
        for lrn in learners:
            vs = lrn.TrainableVariables(variables)
            grads = tape.gradient(metrics[self.LossNameOf(lrn, metrics)][0], vs)
            var_grads[lrn.params.name] = [
                (v, g) for v, g in zip(vs, grads, strict=True) if g is not None
            ]
        del tape
        out = dict(metrics)
        out.update(self.ApplyTrainGradients(var_grads))
        return out, per_example

    def LossNameOf(self, learner: Any, metrics: Mapping[str, Any]) -> str:
        """Returns the metric `learner` minimises (its `loss_name`, else its name).

        Raises:
          ValueError: If `metrics` has no such entry.
        """
        loss_name = learner.params.loss_name or learner.params.name
        if loss_name not in metrics:
            raise ValueError(
                f"task {self.params.name!r}: learner {learner.params.name!r} minimises "
                f"{loss_name!r}, which is not among the metrics {sorted(metrics)}"
            )
        return loss_name

    def CreateEmaShadows(self) -> None:
        """Creates the missing moving-average shadows (before a step is traced); else a no-op."""
        if self.ema is not None:
            self._CreateMissingShadows(self.TrainableVariables())

    def ApplyTrainGradients(
        self, var_grads: Mapping[str, list[tuple[tf.Variable, Any]]]
    ) -> dict[str, Any]:
        """The second half of a training step, given each learner's `[(var, grad)]`.

        Runs every learner's update (with `AdjustGradients` as its gradient adjuster), then
        `PostTrainingStepUpdate`, the moving average of the weights, `PostEmaUpdate`, and the
        step counters. Distributed trainers compute (and all-reduce) the gradients themselves
        and call this once per step.

        Args:
          var_grads: `{learner name: [(variable, gradient)]}`.

        Returns:
          Each learner's statistics (`grad_norm/all/loss`, `learning_rate/loss`, ...).
        """
        out = {}
        skip_lp = self.GetVarsInCollection(weights.SKIP_LP_REGULARIZATION)
        for lrn in self.learners:
            stats = lrn.ApplyGradients(
                var_grads[lrn.params.name],
                step=self.global_step,
                skip_lp_vars=skip_lp,
                gradient_adjuster=self.AdjustGradients,
            )
            out.update(lrn.EvalMetrics(stats, lrn.params.name))
        self.PostTrainingStepUpdate()
        if self.ema is not None:
            self.ema.Apply(self.TrainableVariables(), step=self.global_step)
        self.PostEmaUpdate()
        if not self.params.defer_global_step_update:
            self.global_step.assign_add(1)
            if self._model_step is not None and self._model_step is not self.global_step:
                self._model_step.assign_add(1)
        return out

    def _CreateMissingShadows(self, variables: list[tf.Variable]) -> None:
        """Creates moving-average shadows at the weights' values before their first update."""
        missing = []
        for v in variables:
            try:
                self.ema.Average(v)
            except KeyError:
                missing.append(v)
        if missing:
            # Shadows start equal to their variables, so this update leaves them unchanged.
            self.ema.Apply(missing, step=self.global_step)

    def PostEmaUpdate(self) -> None:
        """A hook that runs after the moving average is updated in a training step."""

    def ProcessFPropResults(
        self, global_step: int, metrics: dict[str, Any], per_example: dict[str, Any]
    ) -> None:
        """A hook called by the trainer after each step with the post-update step and numpy
        metrics; the default does nothing."""

    # ------------------------------------------------------------------ decoding

    def Decode(self, input_batch: NestedMap) -> dict[str, Any]:
        """`DecodeWithTheta(self.theta, input_batch)`."""
        return self.DecodeWithTheta(self.theta, input_batch)

    def DecodeWithTheta(self, theta: NestedMap, input_batch: NestedMap) -> dict[str, Any]:
        """Decodes a batch into a dict of tensors; the default decodes nothing."""
        del theta, input_batch
        return {}

    def CreateDecoderMetrics(self) -> dict[str, Any] | None:
        """Returns `{name: metrics.BaseMetric}` for the decoder; None means no decoder."""
        return None

    def PostProcessDecodeOut(
        self, decode_out_dict: dict[str, Any], decode_metrics_dict: dict[str, Any]
    ) -> list[tuple[str, Any]] | None:
        """Updates the decoder metrics from numpy decode outputs; returns (key, value) pairs
        to keep, or None."""
        del decode_out_dict, decode_metrics_dict
        return None

    def DecodeFinalize(self, decode_finalize_args: Any) -> None:
        """Pickles `decode_out` to `decode_out_path` when there is any, as Lingvo does.

        Args:
          decode_finalize_args: Has `decode_out_path` and `decode_out` (a list of pairs).
        """
        out, path = decode_finalize_args.decode_out, decode_finalize_args.decode_out_path
        if out and path:
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            with open(path, "wb") as f:
                pickle.dump(out, f)

    def Inference(self) -> Any:
        """Returns the inference subgraphs; tasks that export implement this."""
        raise NotImplementedError(f"{type(self).__name__}.Inference")

    def ModelAnalysis(self, **kwargs: Any) -> tuple[str, int]:
        """`model_analysis.ModelAnalysis` over `ModelVars()`: `(text, total #params)`."""
        return model_analysis.ModelAnalysis(_VarsView(self.ModelVars()), **kwargs)


class _VarsView:
    """Something with a `vars` NestedMap, for `model_analysis.ModelAnalysis`."""

    def __init__(self, variables: NestedMap) -> None:
        self.vars = variables


class BaseModel(base_layer.BaseLayer):
    """A model: one or more tasks sharing a global step and the loop settings in `train`."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the model's params."""
        p = super().Params()
        p.Define("model", None, "Registry key and source location of these params.")
        p.Define("cluster", None, "The cluster params; the trainer fills them in.")
        p.Define("input", None, "The input params; a single-task model passes them to its task.")
        p.Define("build_data", None, "Data-building params; kept for params compatibility.")
        p.Define("train", _task_params.ModelTrainParams(), "The loop settings runners read.")
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        _task_params.CheckEmaDecay(self.params.train, f"model {self.params.name!r}")
        _SetTracked(self, "global_step", _task_params.GlobalStepVariable("global_step"))

    @property
    def tasks(self) -> list[BaseTask]:
        """The model's tasks."""
        raise NotImplementedError(f"{type(self).__name__}.tasks")

    def GetTask(self, task_name: str | None = None) -> BaseTask:
        """Returns a task by name."""
        raise NotImplementedError(f"{type(self).__name__}.GetTask")

    def SampleTask(self, global_step: Any) -> BaseTask:
        """Returns the task to train at `global_step`."""
        raise NotImplementedError(f"{type(self).__name__}.SampleTask")

    def TrainStep(self, input_batch: NestedMap, task_name: str | None = None) -> Any:
        """Runs one training step of a task (named, else sampled at the current step)."""
        task = self.GetTask(task_name) if task_name else self.SampleTask(self.global_step)
        return task.TrainStep(input_batch)

    def ProcessFPropResults(
        self, global_step: int, metrics: dict[str, Any], per_example: dict[str, Any]
    ) -> None:
        """A hook called by the trainer after each step; the default does nothing."""

    def ModelVars(self) -> NestedMap:
        """The tasks' `ModelVars()`, keyed like `vars`."""
        out = NestedMap(self.vars)
        for key, child in self.children.items():
            if isinstance(child, BaseTask):
                out[key] = child.ModelVars()
        return out

    def ModelAnalysis(self, **kwargs: Any) -> tuple[str, int]:
        """`model_analysis.ModelAnalysis` over `ModelVars()`: `(text, total #params)`."""
        return model_analysis.ModelAnalysis(_VarsView(self.ModelVars()), **kwargs)


class SingleTaskModel(BaseModel):
    """A model of one task, `self.task`, whose loop settings are copied to `train`."""

    @classmethod
    def Params(cls, task_params: hyperparams.Params | None = None) -> Any:
        """Returns the model params; with `task_params`, copies them in (`CopyTaskParams`).

        Args:
          task_params: The task's params (a `BaseTask.Params()`), or None.
        """
        p = super().Params()
        p.Define("task", None, "The params of the model's single task.")
        if task_params is not None:
            cls.CopyTaskParams(task_params, p)
        return p

    @staticmethod
    def CopyTaskParams(task_params: hyperparams.Params, dst: hyperparams.Params) -> None:
        """Makes `task_params` the task of model params `dst` and copies its loop settings.

        The loop and checkpoint settings (`max_steps`, `save_interval_seconds`, moving
        average, ...) are copied from `task.train` to `dst.train`: runners read them there,
        so override `train.max_steps`, not `task.train.max_steps`, after this. `dst.name`
        becomes the task's name.

        Args:
          task_params: The task's params; copied.
          dst: The model params, modified in place.
        """
        dst.task = task_params.Copy()
        dst.name = task_params.name
        for key in _task_params.MODEL_TRAIN_KEYS:
            value = task_params.train.Get(key)
            dst.train.Set(**{key: value.Copy() if isinstance(value, hyperparams.Params) else value})

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        if p.task is None:
            raise ValueError(f"SingleTaskModel {p.name!r}: params.task is not set")
        task_p = p.task.Copy()
        if p.input is not None:
            if task_p.input is not None:
                raise ValueError(
                    f"SingleTaskModel {p.name!r}: both the model's and the task's input "
                    "params are set; set only one"
                )
            task_p.input = p.input.Copy()
        _task_params.CheckEmaMatch(p.train, task_p.train, f"SingleTaskModel {p.name!r}")
        self.CreateChild("task", task_p)

    @property
    def tasks(self) -> list[BaseTask]:
        """`[self.task]`."""
        return [self.task]

    def GetTask(self, task_name: str | None = None) -> BaseTask:
        """Returns the task; `task_name` must be None or the task's name."""
        if task_name not in (None, self.task.params.name):
            raise ValueError(
                f"SingleTaskModel has only task {self.task.params.name!r}, not {task_name!r}"
            )
        return self.task

    def SampleTask(self, global_step: Any) -> BaseTask:
        """Returns the task."""
        del global_step
        return self.task


class MultiTaskModel(BaseModel):
    """A model of several named tasks; a scheduler picks which task trains at each step."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the model params; define one entry per task in `task_params`."""
        p = super().Params()
        p.Define("task_params", hyperparams.Params(), "The task params, keyed by task name.")
        p.Define(
            "task_probs",
            hyperparams.Params(),
            "The relative probability of training each task, keyed by task name.",
        )
        p.Define(
            "task_schedule",
            None,
            "The task scheduler params; None draws tasks with the fixed task_probs.",
        )
        p.Define(
            "task_global_step",
            False,
            "Whether each task counts its own steps besides the global step.",
        )
        p.Define(
            "task_name_var_scope",
            True,
            "Whether task variables live under the task's name; always true here.",
        )
        p.Define(
            "share_model_object",
            False,
            "Whether tasks share one encoder/decoder object; not supported yet.",
        )
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        names = sorted(name for name, _ in p.task_params.IterParams())
        if len(names) < 2:
            raise ValueError(f"MultiTaskModel {p.name!r} needs at least 2 tasks, got {names}")
        if p.share_model_object:
            raise NotImplementedError("MultiTaskModel: share_model_object is not supported yet")
        if p.input is not None:
            input_names = sorted(name for name, _ in p.input.IterParams())
            if input_names != names:
                raise ValueError(
                    f"MultiTaskModel {p.name!r}: input has entries {input_names}, the tasks "
                    f"are {names}"
                )
        for name in names:
            task_p = p.task_params.Get(name).Copy()
            if p.input is not None:
                task_p.input = p.input.Get(name).Copy()
            if p.task_global_step:
                task_p.task_global_step = True
            _task_params.CheckEmaMatch(p.train, task_p.train, f"MultiTaskModel task {name!r}")
            task_p.name = name
            self.CreateChild(name, task_p)
        object.__setattr__(self, "_task_names", names)
        if p.task_schedule is None:
            probs = [
                (n, p.task_probs.Get(n)) for n in sorted(n for n, _ in p.task_probs.IterParams())
            ]
            sp = task_scheduler.ConstantScheduler.Params().Set(task_probs=probs)
        else:
            sp = p.task_schedule.Copy()
        object.__setattr__(self, "task_schedule", sp.Instantiate())

    @property
    def task_names(self) -> list[str]:
        """The task names, sorted."""
        return list(self._task_names)

    @property
    def tasks(self) -> list[BaseTask]:
        """The tasks, in sorted name order."""
        return [self.children[n] for n in self._task_names]

    def GetTask(self, task_name: str | None = None) -> BaseTask:
        """Returns the task named `task_name` (required).

        Raises:
          ValueError: If no name is given or no task has it.
        """
        if task_name not in self._task_names:
            raise ValueError(
                f"MultiTaskModel.GetTask needs one of the task names {self._task_names}, got "
                f"{task_name!r}"
            )
        return self.children[task_name]

    def SampleTask(self, global_step: Any) -> BaseTask:
        """Returns the task the scheduler draws at `global_step`."""
        step = global_step.numpy() if hasattr(global_step, "numpy") else global_step
        return self.GetTask(self.task_schedule.Sample(step))
