"""Tests of tasks and models (`lingvo.core.base_model`) and their registry wiring."""

import numpy as np
import pytest
import tensorflow as tf

import lingvo.core  # noqa: F401  (registers the core factories with lingvo-params)
from lingvo import model_registry
from lingvo.core import (
    base_input_generator,
    base_model,
    base_model_params,
    hyperparams,
    layers,
    learner,
    optimizer,
    run_mode,
    schedule,
    task_scheduler,
)
from lingvo.core.nested_map import NestedMap
from lingvo.params import registry


class LeNet5Task(base_model.BaseTask):
    """LeNet5 as Lingvo's image classifier builds it: two conv/pool blocks, fc, softmax."""

    @classmethod
    def Params(cls):
        p = super().Params()
        p.name = "lenet5"
        p.Define("filter_shapes", [(5, 5, 1, 20), (5, 5, 20, 50)], "The conv filter shapes.")
        p.Define("window_shapes", [(2, 2), (2, 2)], "The max-pooling windows.")
        p.Define("dropout_prob", 0.2, "The dropout rate after each pooling layer.")
        p.Define("image_size", 28, "The height and width of the square input images.")
        p.Define("hidden_dim", 300, "The width of the fully connected layer.")
        p.Define("num_classes", 10, "The number of classes.")
        return p

    def __init__(self, params):
        super().__init__(params)
        p = self.params
        convs, pools = [], []
        for i, (fs, ws) in enumerate(zip(p.filter_shapes, p.window_shapes, strict=True)):
            convs.append(
                layers.ConvLayer.Params().Set(
                    name=f"conv{i}", filter_shape=fs, batch_norm=False, bias=False
                )
            )
            pools.append(
                layers.PoolingLayer.Params().Set(name=f"pool{i}", window_shape=ws, window_stride=ws)
            )
        self.CreateChildren("conv", convs)
        self.CreateChildren("pool", pools)
        self.CreateChild(
            "dropout", layers.DropoutLayer.Params().Set(keep_prob=1.0 - p.dropout_prob)
        )
        size = p.image_size
        for ws in p.window_shapes:
            size = -(-size // ws[0])
        self.CreateChild(
            "fc",
            layers.FCLayer.Params().Set(
                input_dim=size * size * p.filter_shapes[-1][-1], output_dim=p.hidden_dim
            ),
        )
        self.CreateChild(
            "softmax",
            layers.SimpleFullSoftmax.Params().Set(
                input_dim=p.hidden_dim, num_classes=p.num_classes
            ),
        )

    def ComputePredictions(self, theta, input_batch):
        x = input_batch.data
        for i in range(len(self.params.filter_shapes)):
            x, _ = self.conv[i].FProp(theta.conv[i], x)
            x = self.pool[i].FProp(theta.pool[i], x)
            x = self.dropout.FProp(theta.dropout, x)
        x = tf.reshape(x, [tf.shape(x)[0], -1])
        return self.fc.FProp(theta.fc, x)

    def ComputeLoss(self, theta, predictions, input_batch):
        out = self.softmax.FProp(
            theta.softmax,
            predictions,
            class_weights=input_batch.weight,
            class_ids=tf.cast(input_batch.label, tf.int32),
        )
        batch = tf.cast(tf.shape(input_batch.label)[0], tf.float32)
        correct = tf.cast(
            tf.equal(out.per_example_argmax, tf.cast(input_batch.label, tf.int32)), tf.float32
        )
        metrics = {
            "loss": (out.avg_xent, batch),
            "log_pplx": (out.avg_xent, batch),
            "num_preds": (batch, 1.0),
            "accuracy": (tf.reduce_mean(correct), batch),
        }
        return metrics, {"loss": out.per_example_xent}


class LinearTask(base_model.BaseTask):
    """A linear classifier: `softmax(x @ W + b)` over `num_classes`."""

    @classmethod
    def Params(cls):
        p = super().Params()
        p.name = "linear"
        p.Define("input_dim", 4, "The depth of the inputs.")
        p.Define("num_classes", 3, "The number of classes.")
        return p

    def __init__(self, params):
        super().__init__(params)
        p = self.params
        self.CreateChild(
            "softmax",
            layers.SimpleFullSoftmax.Params().Set(input_dim=p.input_dim, num_classes=p.num_classes),
        )

    def ComputePredictions(self, theta, input_batch):
        return self.softmax.Logits(theta.softmax, input_batch.x)

    def ComputeLoss(self, theta, predictions, input_batch):
        out = self.softmax.XentLossFromLogits(
            predictions,
            class_weights=tf.ones_like(input_batch.y, predictions.dtype),
            class_ids=input_batch.y,
        )
        self.last_logits_dtype = predictions.dtype
        return {"loss": (out.avg_xent, out.total_weight)}, {"loss": out.per_example_xent}


def _LinearParams(**train):
    p = LinearTask.Params()
    p.train.Set(
        learning_rate=0.5,
        optimizer=optimizer.SGD.Params(),
        lr_schedule=schedule.ConstantOne.Params(),
    )
    p.train.Set(**train)
    return p


def _LinearBatch(n=8, seed=1):
    rng = np.random.RandomState(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    y = (np.argmax(x[:, :3], axis=1)).astype(np.int32)
    return NestedMap(x=tf.constant(x), y=tf.constant(y))


def _MnistBatch(n=4, seed=91):
    rng = np.random.RandomState(seed)
    raw = rng.randint(0, 255, size=(n, 28, 28, 1)).astype(np.float32)
    data = tf.image.per_image_standardization(raw)
    label = rng.randint(0, 10, size=(n,)).astype(np.float32)
    return NestedMap(data=data, label=tf.constant(label), weight=tf.ones([n]))


def test_lenet5_parameter_count_and_one_training_step():
    p = LeNet5Task.Params()
    p.train.learning_rate = 1e-3
    p.train.lr_schedule = schedule.ConstantOne.Params()
    task = p.Instantiate()
    text, total = task.ModelAnalysis(log=False)
    assert total == 763_810
    assert "total #params: 763,810" in text
    shapes = {k: v.shape.as_list() for k, v in task.ModelVars().FlattenItems()}
    assert shapes == {
        "conv[0].w": [5, 5, 1, 20],
        "conv[1].w": [5, 5, 20, 50],
        "fc.w": [2450, 300],
        "fc.b": [300],
        "softmax.weight_0": [300, 10],
        "softmax.bias_0": [10],
    }
    batch = _MnistBatch()
    with run_mode.EvalMode():
        before, _ = task.FProp(task.theta, batch)
    metrics, per_example = task.TrainStep(batch)
    assert per_example["loss"].shape == [4]
    assert metrics["num_samples_in_batch"][0].numpy() == 4.0
    assert "grad_norm/all/loss" in metrics and "learning_rate/loss" in metrics
    assert task.global_step.numpy() == 1
    with run_mode.EvalMode():
        after, _ = task.FProp(task.theta, batch)
    assert after["loss"][0].numpy() < before["loss"][0].numpy()


def test_linear_task_trains_with_its_learner_under_tf_function():
    task = _LinearParams(l2_regularizer_weight=1e-4).Instantiate()
    # Legacy optimisation fields moved into one learner named `loss`, as in Lingvo.
    assert [lrn.params.name for lrn in task.learners] == ["loss"]
    assert task.params.train.learning_rate is None
    assert task.learners[0].params.learning_rate == 0.5
    batch = _LinearBatch()
    step = tf.function(task.TrainStep)
    losses = [float(step(batch)[0]["loss"][0]) for _ in range(5)]
    assert losses[-1] < losses[0]
    assert task.global_step.numpy() == 5
    assert "l2_loss/loss" in step(batch)[0]


def test_metrics_contract_errors_and_per_example_loss():
    class NoLoss(LinearTask):
        def ComputeLoss(self, theta, predictions, input_batch):
            return {"xent": (tf.constant(1.0), 1.0)}, {}

    task = NoLoss.Params().Instantiate()
    with pytest.raises(ValueError, match="'loss' metric"):
        task.FProp(task.theta, _LinearBatch())
    p = _LinearParams(keep_per_example_loss=True)
    task = p.Instantiate()
    metrics, per_example = task.FProp(task.theta, _LinearBatch())
    assert metrics["per_example_loss"][1].numpy() == 8.0
    assert "loss" in per_example


def test_two_learners_each_minimise_their_metric():
    class TwoLoss(LinearTask):
        def ComputeLoss(self, theta, predictions, input_batch):
            metrics, per_example = super().ComputeLoss(theta, predictions, input_batch)
            metrics["bias_loss"] = (tf.reduce_sum(tf.square(theta.softmax.bias_0 - 1.0)), 1.0)
            return metrics, per_example

    lr = schedule.ConstantOne.Params()
    sgd = optimizer.SGD.Params()
    p = TwoLoss.Params()
    p.train.learner = [
        learner.Learner.Params().Set(
            name="loss",
            learning_rate=0.1,
            optimizer=sgd,
            lr_schedule=lr,
            bprop_variable_filter="weight",
        ),
        learner.Learner.Params().Set(
            name="bias",
            loss_name="bias_loss",
            learning_rate=0.1,
            optimizer=sgd,
            lr_schedule=lr,
            bprop_variable_filter="bias",
        ),
    ]
    task = p.Instantiate()
    metrics, _ = task.TrainStep(_LinearBatch())
    assert "grad_norm/all/bias" in metrics and "grad_norm/all/loss" in metrics
    np.testing.assert_allclose(task.softmax.vars.bias_0.numpy(), [0.2, 0.2, 0.2], rtol=1e-5)


def test_bfloat16_forward_pass_float32_variables():
    p = _LinearParams()
    p.fprop_dtype = tf.bfloat16
    task = p.Instantiate()
    assert task.softmax.vars.weight_0.dtype == tf.float32
    assert task.softmax.params.fprop_dtype == tf.bfloat16
    assert task.learners[0].params.fprop_dtype == tf.float32
    batch = _LinearBatch()
    metrics, _ = task.FProp(task.theta, batch)
    assert task.last_logits_dtype == tf.bfloat16
    assert metrics["loss"][0].dtype == tf.float32
    losses = [float(task.TrainStep(batch)[0]["loss"][0]) for _ in range(4)]
    assert losses[-1] < losses[0]
    assert task.softmax.vars.weight_0.dtype == tf.float32
    assert np.all(np.isfinite(task.softmax.vars.weight_0.numpy()))


def test_ema_and_eval_theta():
    p = _LinearParams(ema_decay=0.9)
    model = base_model.SingleTaskModel.Params(p).Instantiate()
    assert model.params.train.ema_decay == 0.9
    task = model.task
    task.TrainStep(_LinearBatch())
    assert model.global_step.numpy() == 1 and task.global_step is model.global_step
    avg = task.EvalTheta()
    w = task.softmax.vars.weight_0
    assert not np.allclose(avg.softmax.weight_0.numpy(), w.numpy())
    bad = base_model.SingleTaskModel.Params(_LinearParams())
    bad.train.ema_decay = 0.5
    with pytest.raises(ValueError, match="ema_decay"):
        bad.Instantiate()


def test_single_task_model_copies_train_settings():
    task_p = _LinearParams(max_steps=77, save_interval_seconds=5)
    p = base_model.SingleTaskModel.Params(task_p)
    assert p.name == "linear"
    assert p.train.max_steps == 77 and p.train.save_interval_seconds == 5
    p.input = base_input_generator.BaseSequenceInputGenerator.Params().Set(
        batch_size=8, num_samples=10
    )
    model = p.Instantiate()
    assert model.tasks == [model.task] and model.GetTask() is model.task
    assert model.SampleTask(0) is model.task
    assert model.task.params.input.batch_size == 8
    with pytest.raises(NotImplementedError, match="part 2"):
        _ = model.task.input_generator
    with pytest.raises(ValueError, match="only task"):
        model.GetTask("other")
    with run_mode.EvalMode():
        evaluated = p.Instantiate()
    assert evaluated.task.params.eval.samples_per_summary == 10
    both = base_model.SingleTaskModel.Params(task_p.Copy().Set(input=p.input.Copy()))
    both.input = p.input.Copy()
    with pytest.raises(ValueError, match="both"):
        both.Instantiate()


def test_registry_get_params_end_to_end():
    with registry.IsolatedRegistry():

        @model_registry.RegisterSingleTaskModel
        class LinearExperiment(base_model_params.SingleTaskModelParams):
            def Train(self):
                p = super().Train()
                p.batch_size = 8
                return p

            def Task(self):
                return _LinearParams(max_steps=100)

            def Task_Dev(self):
                return _LinearParams(max_steps=5).Set(name="linear_dev")

        cfg = model_registry.GetParams("test.LinearExperiment", "Train")
        assert cfg.cls is base_model.SingleTaskModel
        assert cfg.input.name == "Train" and cfg.input.batch_size == 8
        assert cfg.input.cls is base_input_generator.BaseSequenceInputGenerator
        assert cfg.train.max_steps == 100
        assert cfg.model.startswith("test.LinearExperiment@")
        dev = model_registry.GetParams("test.LinearExperiment", "Dev")
        assert dev.task.name == "linear_dev" and dev.train.max_steps == 5
        over = model_registry.GetParams(
            "test.LinearExperiment", "Train", model_params_override="train.max_steps : 3"
        )
        assert over.train.max_steps == 3
        model = cfg.Instantiate()
        metrics, _ = model.TrainStep(_LinearBatch())
        assert model.global_step.numpy() == 1 and np.isfinite(metrics["loss"][0].numpy())
        text = cfg.ToText()
        assert "task.train.learning_rate : 0.5" in text


def _MultiParams(**kwargs):
    p = base_model.MultiTaskModel.Params().Set(name="mt", **kwargs)
    for name in ("a", "b"):
        p.task_params.Define(name, _LinearParams(), f"Task {name}.")
    p.task_probs.Define("a", 0.8, "Probability of task a.")
    p.task_probs.Define("b", 0.2, "Probability of task b.")
    return p


def test_multi_task_model_mixing_and_training():
    p = _MultiParams()
    p.task_schedule = task_scheduler.ConstantScheduler.Params().Set(
        task_probs=[("a", 0.8), ("b", 0.2)], seed=9885784
    )
    model = p.Instantiate()
    assert model.task_names == ["a", "b"]
    assert model.GetTask("b").params.name == "b"
    draws = [model.SampleTask(i).params.name for i in range(100)]
    assert draws.count("a") == 83
    with pytest.raises(ValueError, match="task names"):
        model.GetTask()
    w_a = model.a.softmax.vars.weight_0.numpy().copy()
    w_b = model.b.softmax.vars.weight_0.numpy().copy()
    model.TrainStep(_LinearBatch(), task_name="b")
    assert np.array_equal(model.a.softmax.vars.weight_0.numpy(), w_a)
    assert not np.array_equal(model.b.softmax.vars.weight_0.numpy(), w_b)
    assert model.global_step.numpy() == 1
    assert "a/softmax/weight_0" in model.a.softmax.vars.weight_0.name or "mt/a" in (
        model.a.softmax.vars.weight_0.name
    )
    _, total = model.ModelAnalysis(log=False)
    assert total == 2 * (4 * 3 + 3)


def test_multi_task_model_inputs_and_task_steps():
    p = _MultiParams(task_global_step=True)
    p.input = hyperparams.Params()
    p.input.Define("a", base_input_generator.BaseInputGenerator.Params(), "Input of a.")
    with pytest.raises(ValueError, match="input has entries"):
        p.Instantiate()
    p.input.Define("b", base_input_generator.BaseInputGenerator.Params(), "Input of b.")
    model = p.Instantiate()
    assert model.b.params.input is not None
    model.TrainStep(_LinearBatch(), task_name="a")
    assert model.a.global_step.numpy() == 1 and model.b.global_step.numpy() == 0
    assert model.global_step.numpy() == 1
    with pytest.raises(ValueError, match="at least 2"):
        base_model.MultiTaskModel.Params().Set(name="x").Instantiate()


def test_schedulers():
    rr = task_scheduler.RoundRobinScheduler.Params().Set(task_order=["a", "b"]).Instantiate()
    assert [rr.Sample(s) for s in range(4)] == ["a", "b", "a", "b"]
    seq = task_scheduler.SequentialScheduler.Params().Set(task_steps=[("a", 2), ("b", 3)])
    seq = seq.Instantiate()
    assert [seq.Sample(s) for s in range(7)] == ["a", "a", "b", "b", "b", "b", "b"]


def test_decode_hooks(tmp_path):
    task = _LinearParams().Instantiate()
    assert task.Decode(_LinearBatch()) == {}
    assert task.CreateDecoderMetrics() is None
    assert task.PostProcessDecodeOut({}, {}) is None
    args = NestedMap(decode_out=[("k", 1)], decode_out_path=str(tmp_path / "out.pkl"))
    task.DecodeFinalize(args)
    assert (tmp_path / "out.pkl").stat().st_size > 0
    with pytest.raises(NotImplementedError):
        base_input_generator.BaseInputGenerator.Params().Instantiate()


class _ModeRecordingInput(base_input_generator.BaseInputGenerator):
    """Remembers whether it was built in evaluation mode."""

    def __init__(self, params):
        super().__init__(params)
        object.__setattr__(self, "built_for_eval", self.do_eval)

    def _BuildDataset(self):
        return tf.data.Dataset.from_tensors(_LinearBatch())


def test_lazy_input_generator_is_built_in_the_tasks_mode():
    # Evalers and decoders build the task in EvalMode but first touch `input_generator` later,
    # outside it; the generator must still be an evaluation one (one ordered pass).
    p = _LinearParams()
    p.input = _ModeRecordingInput.Params()
    with run_mode.EvalMode():
        eval_task = p.Instantiate()
    train_task = p.Instantiate()
    assert not run_mode.IsEvalMode()
    assert eval_task.input_generator.built_for_eval is True
    assert train_task.input_generator.built_for_eval is False
