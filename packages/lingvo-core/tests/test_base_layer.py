"""Tests of `BaseLayer`: construction, children, variables, theta and errors."""

import numpy as np
import pytest
import tensorflow as tf

from lingvo.core import base_layer, hyperparams, layers, py_utils, weights
from lingvo.core.nested_map import NestedMap


class LeafLayer(base_layer.BaseLayer):
    """Holds `w` [2, 3] and `b` [3]; FProp returns `x @ w + b`."""

    def _CreateLayerVariables(self):
        super()._CreateLayerVariables()
        p = self.params
        self.CreateVariable("w", py_utils.WeightParams([2, 3], p.params_init, p.dtype))
        self.CreateVariable(
            "b", py_utils.WeightParams([3], py_utils.WeightInit.Constant(0.5), p.dtype)
        )

    def FProp(self, theta, x):
        return tf.matmul(x, theta.w) + theta.b


class ParentLayer(base_layer.BaseLayer):
    """A single child, a list of children, a dict of children and a variable of its own."""

    def __init__(self, params):
        super().__init__(params)
        self.CreateChild("child", LeafLayer.Params())
        self.CreateChildren("lst", [LeafLayer.Params(), LeafLayer.Params().Set(name="named")])
        self.CreateChildren("dct", {"b": LeafLayer.Params(), "a": LeafLayer.Params()})
        self.CreateVariable("v", py_utils.WeightParams([4], py_utils.WeightInit.Constant(1.0)))

    def FProp(self, theta, x):
        return self.child.FProp(theta.child, x) + self.lst[1].FProp(theta.lst[1], x)


def _Parent(name="root", **kwargs):
    return ParentLayer.Params().Set(name=name, **kwargs).Instantiate()


def test_standard_params_in_order():
    p = base_layer.BaseLayer.Params()
    assert p.GetKeys() == [
        "cls",
        "name",
        "dtype",
        "fprop_dtype",
        "random_seed",
        "vn",
        "params_init",
        "is_inference",
        "skip_lp_regularization",
    ]
    assert p.cls is base_layer.BaseLayer and p.dtype == tf.float32
    assert py_utils.IsDefaultParamInit(p.params_init)
    assert p.vn == py_utils.DefaultVN()


def test_name_is_required():
    with pytest.raises(ValueError, match='LeafLayer must have a "name"'):
        LeafLayer.Params().Instantiate()


def test_variable_names_paths_and_keys():
    layer = _Parent()
    names = sorted(v.name for v in layer.vars.Flatten())
    assert names == [
        "root/child/b/var:0",
        "root/child/w/var:0",
        "root/dct_0/b/var:0",
        "root/dct_0/w/var:0",
        "root/dct_1/b/var:0",
        "root/dct_1/w/var:0",
        "root/lst_0/b/var:0",
        "root/lst_0/w/var:0",
        "root/named/b/var:0",
        "root/named/w/var:0",
        "root/v/var:0",
    ]
    # Unnamed leaves are numbered in flatten order: dict keys sorted, so 'a' is dct_0.
    assert layer.dct["a"].path == "root.dct_0" and layer.dct["b"].path == "root.dct_1"
    assert layer.lst[1].path == "root.named"
    assert layer.child.parent is layer and layer.parent is None
    assert layer.child.layer_type == "lingvo.LeafLayer"
    keys = [k for k, _ in layer.vars.FlattenItems()]
    assert keys == [
        "child.b",
        "child.w",
        "dct.a.b",
        "dct.a.w",
        "dct.b.b",
        "dct.b.w",
        "lst[0].b",
        "lst[0].w",
        "lst[1].b",
        "lst[1].w",
        "v",
    ]
    assert len(layer.trainable_variables) == 11
    assert set(layer.GetVariablesDict()) == set(names)


def test_theta_mirrors_vars_and_fprop_uses_it():
    layer = _Parent()
    theta = layer.theta
    assert isinstance(theta, NestedMap)
    assert [k for k, _ in theta.FlattenItems()] == [k for k, _ in layer.vars.FlattenItems()]
    assert theta.child.w is layer.vars.child.w
    x = tf.ones([1, 2])
    want = x @ layer.child.vars.w + 0.5 + x @ layer.lst[1].vars.w + 0.5
    np.testing.assert_allclose(layer(x), want, rtol=1e-6)
    np.testing.assert_allclose(layer.FPropDefaultTheta(x), want, rtol=1e-6)
    # FProp computes only from theta, so substitute weights change the output.
    other = theta.Transform(tf.zeros_like)
    np.testing.assert_array_equal(layer.FProp(other, x), np.zeros([1, 3]))


def test_children_access_and_errors():
    layer = _Parent()
    assert set(layer.children) == {"child", "lst", "dct"}
    assert isinstance(layer.children.lst, list)
    with pytest.raises(AttributeError, match="nope is not a sub-layer of ParentLayer"):
        _ = layer.nope
    with pytest.raises(ValueError, match="CreateChild outside of __init__ of layer 'root'"):
        layer.CreateChild("late", LeafLayer.Params())
    with pytest.raises(ValueError, match="CreateChildren outside of __init__ of layer 'root'"):
        layer.CreateChildren("late", [LeafLayer.Params()])
    with pytest.raises(ValueError, match=r"CreateVariable\('late'\) outside of __init__"):
        layer.CreateVariable("late", py_utils.WeightParams([1]))


def test_get_descendant():
    layer = _Parent()
    assert layer.GetDescendant("") is layer
    assert layer.GetDescendant("child") is layer.child
    assert layer.GetDescendant("lst[1]") is layer.lst[1]
    assert layer.GetDescendant("lst[-1]") is layer.lst[1]
    assert layer.GetDescendant("dct.a") is layer.dct["a"]
    with pytest.raises(KeyError, match="'x' not found in sub-layer 'child' with children"):
        layer.GetDescendant("child.x")
    with pytest.raises(TypeError, match="Attempted to index 'child' of type LeafLayer"):
        layer.GetDescendant("child[0]")
    with pytest.raises(IndexError, match="Index 2 out of range for sub-layer 'lst'"):
        layer.GetDescendant("lst[2]")


def test_params_are_a_frozen_copy():
    p = LeafLayer.Params().Set(name="leaf")
    layer = p.Instantiate()
    p.name = "changed"
    assert layer.params.name == "leaf"
    with pytest.raises(TypeError, match="immutable"):
        layer.params.name = "x"
    with pytest.raises(TypeError, match="immutable"):
        layer.params.vn.scale = 1.0
    # A built layer's (frozen) params rebuild an identical layer.
    again = layer.params.Instantiate()
    np.testing.assert_array_equal(again.vars.w.numpy(), layer.vars.w.numpy())
    parent = _Parent()
    rebuilt = parent.params.Instantiate()
    assert [v.name for v in rebuilt.vars.Flatten()] == [v.name for v in parent.vars.Flatten()]


def test_names_share_one_namespace():
    class Clash(base_layer.BaseLayer):
        def __init__(self, params):
            super().__init__(params)
            self.CreateChild("x", LeafLayer.Params())
            self.CreateVariable("x", py_utils.WeightParams([1]))

    with pytest.raises(ValueError, match="'x' exists in children"):
        Clash.Params().Set(name="c").Instantiate()

    class AttrClash(base_layer.BaseLayer):
        def __init__(self, params):
            super().__init__(params)
            self.CreateVariable("theta", py_utils.WeightParams([1]))

    with pytest.raises(ValueError, match="'theta' is an attribute of AttrClash"):
        AttrClash.Params().Set(name="c").Instantiate()


def test_layers_built_in_init_must_be_children():
    class Sneaky(base_layer.BaseLayer):
        def __init__(self, params):
            super().__init__(params)
            self.hidden = LeafLayer.Params().Set(name="hidden").Instantiate()

    with pytest.raises(ValueError, match=r"hidden is not created by BaseLayer.CreateChild"):
        Sneaky.Params().Set(name="s").Instantiate()


def test_init_must_call_super():
    class Forgetful(base_layer.BaseLayer):
        def __init__(self, params):
            pass

    with pytest.raises(TypeError, match="must call super"):
        Forgetful.Params().Set(name="f").Instantiate()


def test_abstract_fprop():
    layer = base_layer.BaseLayer.Params().Set(name="base").Instantiate()
    with pytest.raises(NotImplementedError, match="Abstract method of BaseLayer"):
        layer(tf.ones([1]))


def test_copy_base_params_inheritance():
    parent = LeafLayer.Params().Set(
        name="p", dtype=tf.float64, random_seed=7, skip_lp_regularization=True
    )
    parent.params_init = py_utils.WeightInit.Gaussian(0.1)
    parent.vn = py_utils.VariationalNoiseParams(0.5, global_vn=True)
    child = base_layer.BaseLayer.CopyBaseParams(parent, LeafLayer.Params())
    assert child.dtype == tf.float64 and child.random_seed == 7
    assert child.params_init.method == "gaussian" and child.vn.scale == 0.5
    assert child.skip_lp_regularization
    # Explicit child settings win.
    own = LeafLayer.Params().Set(random_seed=1, vn=py_utils.DisableVN())
    own.params_init = py_utils.WeightInit.Uniform(0.2)
    base_layer.BaseLayer.CopyBaseParams(parent, own)
    assert own.random_seed == 1 and own.vn.scale == 1.0 and own.params_init.method == "uniform"
    with pytest.raises(TypeError, match="layer params"):
        base_layer.BaseLayer.CopyBaseParams(parent, hyperparams.Params())


def test_children_inherit_dtype_and_seed():
    a = _Parent(random_seed=3)
    b = _Parent(random_seed=3)
    c = _Parent(random_seed=4)
    np.testing.assert_array_equal(a.child.vars.w.numpy(), b.child.vars.w.numpy())
    assert not np.array_equal(a.child.vars.w.numpy(), c.child.vars.w.numpy())
    d = _Parent(dtype=tf.float64)
    assert d.lst[0].vars.w.dtype == tf.float64


def test_fprop_dtype_casts_theta():
    layer = _Parent(fprop_dtype=tf.float16)
    assert layer.theta.child.w.dtype == tf.float16
    assert layer.vars.child.w.dtype == tf.float32
    assert layer(tf.ones([1, 2], tf.float16)).dtype == tf.float16
    assert layer.fprop_dtype == tf.float16
    assert py_utils.FPropDtype(layer.params) == tf.float16


def test_skip_lp_regularization_collection():
    layer = _Parent(skip_lp_regularization=True)
    skipped = layer.GetVarsInCollection(weights.SKIP_LP_REGULARIZATION)
    assert len(skipped) == 11
    assert _Parent().GetVarsInCollection(weights.SKIP_LP_REGULARIZATION) == []


def test_extra_theta():
    class WithTable(base_layer.BaseLayer):
        def __init__(self, params):
            super().__init__(params)
            self.AddExtraTheta("table", tf.constant([1.0, 2.0]))

        def FProp(self, theta, x):
            return x * theta.table

    layer = WithTable.Params().Set(name="t").Instantiate()
    np.testing.assert_array_equal(layer(tf.ones([2])), [1.0, 2.0])
    assert "table" not in layer.vars


def test_input_shape_check_names_layer_and_shapes():
    layer = layers.ProjectionLayer.Params().Set(name="proj", input_dim=4, output_dim=2)
    layer = layer.Instantiate()
    with pytest.raises(ValueError, match=r"ProjectionLayer 'proj': inputs expected shape "):
        layer(tf.ones([2, 3, 5]))
    with pytest.raises(ValueError, match=r"expected shape \[\.\.\., 4\], got \[2, 3, 5\]"):
        layer(tf.ones([2, 3, 5]))
    with pytest.raises(ValueError, match=r"expected shape \[\.\.\., 4\], got \[\]"):
        layer(tf.constant(1.0))


def test_check_shape_helper():
    x = tf.ones([2, 3])
    assert py_utils.CheckShape(x, [2, None]) is x
    py_utils.CheckShape(x, [..., 3])
    py_utils.CheckShape(x, [..., 2, 3])
    with pytest.raises(ValueError, match=r"x expected shape \[2, 3, 1\], got \[2, 3\]"):
        py_utils.CheckShape(x, [2, 3, 1], "x")

    @tf.function(input_signature=[tf.TensorSpec([None, 3])])
    def F(t):
        return py_utils.CheckShape(t, [7, 3])  # the unknown batch size is not checked

    assert F(x).shape == (2, 3)


def test_module_tracking_and_checkpoint_keys(tmp_path):
    layer = _Parent()
    path = tf.train.Checkpoint(model=layer).save(str(tmp_path / "ckpt"))
    keys = sorted(k for k, _ in tf.train.list_variables(path) if k.startswith("model/"))
    assert keys == [
        f"model/{k}/.ATTRIBUTES/VARIABLE_VALUE"
        for k in [
            "child/b",
            "child/w",
            "dct/a/b",
            "dct/a/w",
            "dct/b/b",
            "dct/b/w",
            "lst/0/b",
            "lst/0/w",
            "lst/1/b",
            "lst/1/w",
            "v",
        ]
    ]
