"""Image classifiers: Lingvo's `ModelV1` (conv/pool blocks, fully connected, softmax)."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from lingvo.core import base_model, hyperparams, layers, metrics
from lingvo.core.nested_map import NestedMap

__all__ = ["BaseClassifier", "ModelV1"]


class BaseClassifier(base_model.BaseTask):
    """A task that maps `data` [b, h, w, c] to one of `softmax.num_classes` classes.

    Subclasses compute the features in `ComputePredictions`; this class turns them into the
    softmax metrics. Training reports `loss` and `log_pplx` (the weighted mean
    cross-entropy) and `num_preds`; evaluation adds `accuracy`, `acc5`, `error` and
    `error5`. All are weighted by the number of real (non-padding) examples.
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the task params with the softmax layer's params."""
        p = super().Params()
        p.Define(
            "softmax",
            layers.SimpleFullSoftmax.Params(),
            "The softmax layer's params; input_dim is the feature width.",
        )
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        self.CreateChild("softmax", self.params.softmax.Copy().Set(name="softmax"))

    def ComputeLoss(
        self, theta: NestedMap, predictions: Any, input_batch: NestedMap
    ) -> tuple[dict[str, tuple[Any, Any]], dict[str, Any]]:
        """Returns the classification metrics and the per-example `loss` shaped [b]."""
        weight = tf.cast(input_batch.weight, tf.float32)
        labels = tf.cast(input_batch.label, tf.int32)
        out = self.softmax.FProp(theta.softmax, predictions, class_weights=weight, class_ids=labels)
        # Lingvo weights by the padded batch size; the real count keeps a short last
        # batch from skewing averages over a whole evaluation pass.
        count = tf.reduce_sum(weight)
        batch = tf.cast(tf.shape(labels)[0], tf.float32)
        out_metrics = {
            "loss": (out.avg_xent, count),
            "log_pplx": (out.avg_xent, count),
            "num_preds": (batch, tf.constant(1.0)),
        }
        if self.do_eval:
            logits = tf.cast(out.logits, tf.float32)
            denom = tf.maximum(count, 1e-8)
            top1 = tf.cast(tf.math.in_top_k(labels, logits, 1), tf.float32)
            k = min(5, self.params.softmax.num_classes)
            top5 = tf.cast(tf.math.in_top_k(labels, logits, k), tf.float32)
            acc = tf.reduce_sum(top1 * weight) / denom
            acc5 = tf.reduce_sum(top5 * weight) / denom
            out_metrics.update(
                accuracy=(acc, count),
                acc5=(acc5, count),
                error=(1.0 - acc, count),
                error5=(1.0 - acc5, count),
            )
        return out_metrics, {"loss": out.per_example_xent}

    def DecodeWithTheta(self, theta: NestedMap, input_batch: NestedMap) -> dict[str, Any]:
        """Classifies a batch: `prediction` [b] int32, `label`, `weight` and `sample_ids`."""
        logits = self.softmax.Logits(theta.softmax, self.ComputePredictions(theta, input_batch))
        labels = tf.cast(input_batch.label, tf.int32)
        out = {
            "prediction": tf.argmax(logits, -1, output_type=tf.int32),
            "label": labels,
            "weight": tf.cast(input_batch.weight, tf.float32),
            "correct_top1": tf.math.in_top_k(labels, tf.cast(logits, tf.float32), 1),
        }
        if "sample_ids" in input_batch:
            out["sample_ids"] = input_batch.sample_ids
        return out

    def CreateDecoderMetrics(self) -> dict[str, metrics.BaseMetric]:
        """The decoder's metrics: `num_samples_in_batch` (as Lingvo's) and `accuracy`."""
        return {
            "num_samples_in_batch": metrics.AverageMetric(),
            "accuracy": metrics.AverageMetric(),
        }

    def PostProcessDecodeOut(
        self, decode_out_dict: dict[str, Any], decode_metrics_dict: dict[str, Any]
    ) -> list[tuple[str, Any]]:
        """Updates the decoder metrics; returns `(sample id, (prediction, label))` pairs."""
        weight = decode_out_dict["weight"]
        real = weight > 0
        n = int(real.sum())
        decode_metrics_dict["num_samples_in_batch"].Update(n)
        if n:
            correct = decode_out_dict["correct_top1"][real].astype("float32")
            decode_metrics_dict["accuracy"].Update(float(correct.mean()), n)
        ids = decode_out_dict.get("sample_ids")
        pred, label = decode_out_dict["prediction"], decode_out_dict["label"]
        out = []
        for i in range(weight.shape[0]):
            if real[i]:
                key = str(int(ids[i])) if ids is not None else str(i)
                out.append((key, (int(pred[i]), int(label[i]))))
        return out


class ModelV1(BaseClassifier):
    """Lingvo's LeNet-style classifier: conv/pool/dropout blocks, a ReLU layer, softmax.

    Each block is a SAME convolution without bias (optionally batch-normalised) and ReLU,
    a max pooling and a dropout. The flattened features go through a fully connected ReLU
    layer of width `softmax.input_dim`. With LeNet5's params the variables are `conv[0].w`
    [5, 5, 1, 20], `conv[1].w` [5, 5, 20, 50], `fc.w` [2450, 300], `fc.b` [300],
    `softmax.weight_0` [300, 10] and `softmax.bias_0` [10]: 763,810 parameters.
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the params of the convolutional blocks."""
        p = super().Params()
        p.Define("filter_shapes", [(5, 5, 1, 20)], "The convolution filter of each block.")
        p.Define("window_shapes", [(2, 2)], "The max-pooling window (and stride) of each block.")
        p.Define("batch_norm", False, "Whether the convolutions are batch-normalised.")
        p.Define("dropout_prob", 0.0, "The dropout rate after each block, in training.")
        p.Define("data_shape", (28, 28, 1), "The shape [h, w, c] of one input image.")
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        if len(p.filter_shapes) != len(p.window_shapes):
            raise ValueError(
                f"ModelV1 {p.name!r}: {len(p.filter_shapes)} filter_shapes but "
                f"{len(p.window_shapes)} window_shapes"
            )
        convs, pools = [], []
        for i, (fs, ws) in enumerate(zip(p.filter_shapes, p.window_shapes, strict=True)):
            convs.append(
                layers.ConvLayer.Params().Set(
                    name=f"conv{i}", filter_shape=fs, batch_norm=p.batch_norm, bias=False
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
        h, w = p.data_shape[0], p.data_shape[1]
        for ws in p.window_shapes:
            h, w = -(-h // ws[0]), -(-w // ws[1])
        self.CreateChild(
            "fc",
            layers.FCLayer.Params().Set(
                input_dim=h * w * p.filter_shapes[-1][-1], output_dim=p.softmax.input_dim
            ),
        )

    def ComputePredictions(self, theta: NestedMap, input_batch: NestedMap) -> tf.Tensor:
        """Returns the features [b, softmax.input_dim] of `input_batch.data` [b, h, w, c]."""
        x = input_batch.data
        for i in range(len(self.params.filter_shapes)):
            x, _ = self.conv[i].FProp(theta.conv[i], x)
            x = self.pool[i].FProp(theta.pool[i], x)
            x = self.dropout.FProp(theta.dropout, x)
        x = tf.reshape(x, [tf.shape(x)[0], -1])
        return self.fc.FProp(theta.fc, x)

    def Inference(self) -> dict[str, Any]:
        """The inference subgraphs, for `--mode=write_inference_graph`.

        - `default`: feed `image` [b, h, w, c] float32 pixels (0-255, as stored), standardized
          per image as the input generator does; fetch `probs` [b, classes], `logits` and
          `prediction` [b] int32.
        - `normalized`: the same from `normalized_image`, already standardized (Lingvo's
          `ModelV2` feed).
        """
        p = self.params
        shape = [None, *p.data_shape]

        def Fetches(data: tf.Tensor) -> dict[str, tf.Tensor]:
            theta = self.EvalTheta()
            features = self.ComputePredictions(theta, NestedMap(data=data))
            logits = tf.cast(self.softmax.Logits(theta.softmax, features), tf.float32)
            return {
                "logits": logits,
                "probs": tf.nn.softmax(logits),
                "prediction": tf.argmax(logits, -1, output_type=tf.int32),
            }

        @tf.function(input_signature=[tf.TensorSpec(shape, tf.float32, name="image")])
        def Default(image: tf.Tensor) -> dict[str, tf.Tensor]:
            return Fetches(tf.image.per_image_standardization(image))

        @tf.function(input_signature=[tf.TensorSpec(shape, tf.float32, name="normalized_image")])
        def Normalized(normalized_image: tf.Tensor) -> dict[str, tf.Tensor]:
            return Fetches(normalized_image)

        return {"default": Default, "normalized": Normalized}
