"""Tests of the `model_analysis.txt` text."""

import dataclasses

import tensorflow as tf

from lingvo.core import layers, model_analysis
from lingvo.core.nested_map import NestedMap

# The rows of a Lingvo LeNet5 run's model_analysis.txt; the total line follows §16.2.
LENET5_GOLDEN = """
_task.conv[0].w           (5, 5, 1, 20)               500 lenet5/conv0/w/var
_task.conv[1].w           (5, 5, 20, 50)            25000 lenet5/conv1/w/var
_task.fc.b                (300,)                      300 lenet5/fc/b/var
_task.fc.w                (2450, 300)              735000 lenet5/fc/w/var
_task.softmax.bias_0      (10,)                        10 lenet5/softmax/bias_0/var
_task.softmax.weight_0    (300, 10)                  3000 lenet5/softmax/weight_0/var
====================================================================================================
total #params: 763,810
"""


@dataclasses.dataclass
class FakeVar:
    name: str
    shape: tf.TensorShape


@dataclasses.dataclass
class FakeModel:
    vars: NestedMap


def _Var(path, *shape):
    return FakeVar(f"lenet5/{path}/var:0", tf.TensorShape(shape))


def _LeNet5():
    task = NestedMap(
        conv=[
            NestedMap(w=_Var("conv0/w", 5, 5, 1, 20)),
            NestedMap(w=_Var("conv1/w", 5, 5, 20, 50)),
        ],
        fc=NestedMap(w=_Var("fc/w", 2450, 300), b=_Var("fc/b", 300)),
        softmax=NestedMap(
            weight_0=_Var("softmax/weight_0", 300, 10), bias_0=_Var("softmax/bias_0", 10)
        ),
    )
    return FakeModel(NestedMap(_task=task))


def test_lingvo_layout_golden():
    text, total = model_analysis.ModelAnalysis(_LeNet5(), log=False)
    assert text == LENET5_GOLDEN
    assert total == 763810


def test_shared_names_count_once_and_unknown_shapes():
    shared = _Var("fc/w", 2, 3)
    model = FakeModel(
        NestedMap(a=shared, b=shared, c=FakeVar("x/var:0", tf.TensorShape([None, 2])))
    )
    text, total = model_analysis.ModelAnalysis(model, log=False)
    assert total == 6
    assert text.splitlines()[3] == "c    n/a                         n/a x/var"


def test_parts_and_top_n():
    text, _ = model_analysis.ModelAnalysis(
        _LeNet5(), topn=2, part_regexes={"conv": "conv"}, log=False
    )
    tail = text.split("total #params: 763,810\n")[1].splitlines()
    assert tail[0] == "-" * 100
    assert tail[1] == "Part: conv      (" + '"conv"'.ljust(40) + ")\t" + "25500".rjust(12)
    assert tail[2:5] == ["", "=" * 100, "Top-N tensors by size"]
    assert tail[5] == f"0: {'lenet5/fc/w/var':<100}\t735,000\t(2450, 300)"
    assert tail[6] == f"1: {'lenet5/conv1/w/var':<100}\t25,000\t(5, 5, 20, 50)"


def test_real_layer():
    p = layers.FeedForwardNet.Params().Set(name="ffn", input_dim=4, hidden_layer_dims=[8, 3])
    text, total = model_analysis.ModelAnalysis(p.Instantiate(), log=False)
    assert total == 4 * 8 + 8 + 8 * 3 + 3
    assert text.splitlines()[1:5] == [
        "fc[0].b    (8,)                          8 ffn/fc_0/b/var",
        "fc[0].w    (4, 8)                       32 ffn/fc_0/w/var",
        "fc[1].b    (3,)                          3 ffn/fc_1/b/var",
        "fc[1].w    (8, 3)                       24 ffn/fc_1/w/var",
    ]
