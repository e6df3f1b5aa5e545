"""Tests of the Params data model: define, set/get, paths, errors, freeze, copy, str, Visit."""

import copy
import enum
import pickle
import re
import subprocess
import sys

import pytest

from lingvo.params import hyperparams
from lingvo.params.hyperparams import (
    CopyFieldsSubsetTo,
    CopyFieldsTo,
    InstantiableParams,
    Params,
)


class Color(enum.Enum):
    A = 1
    B = 2


def _inner(bar=2):
    p = Params()
    p.Define("bar", bar, "The bar value.")
    return p


def _tree():
    p = Params()
    p.Define("foo", 1, "A plain int.")
    p.Define("inner", _inner(), "A nested Params.")
    p.Define("layers", [_inner(10), _inner(20)], "A list of Params.")
    p.Define("tower", {"left": _inner(3), "right": _inner(4)}, "A dict of Params.")
    p.Define("pairs", [("enc", _inner(5)), ("dec", _inner(6))], "Named Params pairs.")
    p.Define("d", {"a": 1}, "A plain dict.")
    return p


def test_define_and_attributes():
    p = Params()
    assert p.Define("foo", 1, "Foo.") is None
    p.Define("_under", None, "Leading underscore is allowed.")
    p.Define("foo9", "x", "Digits are allowed.")
    assert p.foo == 1 and p._under is None and p.foo9 == "x"
    p.foo = 2
    assert p.foo == 2
    assert dir(p) == ["_under", "foo", "foo9"]
    assert len(p) == 3
    assert "foo" in p and "bar" not in p
    assert p.GetKeys() == ["foo", "_under", "foo9"]
    assert list(p.IterParams()) == [("foo", 2), ("_under", None), ("foo9", "x")]


@pytest.mark.parametrize("name", ["", "Foo", "1foo", "foo$", "a.b", "a-b"])
def test_define_rejects_bad_names(name):
    p = Params()
    with pytest.raises(ValueError, match="Attribute name string invalid"):
        p.Define(name, 1, "Bad.")


def test_define_errors():
    p = Params()
    with pytest.raises(AssertionError):
        p.Define(None, 1, "Not a str.")
    p.Define("foo", 1, "Foo.")
    with pytest.raises(AttributeError, match="Parameter foo is already defined"):
        p.Define("foo", 2, "Again.")


def test_values_are_stored_by_reference():
    lst = [1]
    inner = _inner()
    p = Params()
    p.Define("lst", lst, "A list.")
    p.Define("inner", None, "A Params set later.")
    p.Set(inner=inner)
    assert p.lst is lst and p.inner is inner


def test_attribute_set_never_creates():
    p = Params()
    p.Define("activation", 1, "Act.")
    with pytest.raises(AttributeError):
        p.actvation = 2
    assert not hasattr(p, "actvation")
    assert "actvation" not in p


def test_set_get_delete_nested():
    p = _tree()
    assert p.Set(foo=3) is p
    p.Set(**{"inner.bar": 7, "layers[1].bar": 21, "tower['left'].bar": 30})
    p.Set(**{'tower["right"].bar': 40, "pairs[dec].bar": 60, "pairs['enc'].bar": 50})
    assert p.foo == 3 and p.inner.bar == 7 and p.layers[1].bar == 21
    assert p.tower["left"].bar == 30 and p.tower["right"].bar == 40
    assert p.pairs[0][1].bar == 50 and p.pairs[1][1].bar == 60
    assert p.Get("inner.bar") == 7
    assert p.Get("pairs[dec].bar") == 60
    assert p.Get("pairs[1].bar") == 60  # a position in a pair list means the pair's Params
    assert p.Get("tower['left'].bar") == 30
    p.Delete("inner.bar", "foo")
    assert "foo" not in p and len(p.inner) == 0


def test_set_chains():
    p = Params()
    p.Define("name", None, "Name.")
    p.Define("dim", None, "Dim.")
    assert p.Set(name="x").Set(dim=2) is p
    assert (p.name, p.dim) == ("x", 2)


def test_param_is_set_and_contains():
    p = _tree()
    p.Define("opt", None, "Optional.")
    assert "opt" in p
    assert not p.ParamIsSet("opt")
    assert p.ParamIsSet("inner.bar")
    assert "inner.bar" not in p  # `in` is top level only
    with pytest.raises(AttributeError):
        p.ParamIsSet("nope")


def test_cannot_introspect():
    p = _tree()
    with pytest.raises(AssertionError, match=r"^Cannot introspect"):
        p.Set(**{"d.foo": 1})
    with pytest.raises(AssertionError, match=r"^Cannot introspect"):
        p.Set(**{"foo.x": 1})


def test_similar_keys_message_is_lingvo_exact():
    p = Params()
    for name in ("activation", "activations", "cheesecake", "tofu"):
        p.Define(name, 1, "A name.")
    with pytest.raises(AttributeError) as e:
        p.actuvation = 1
    assert str(e.value) == "actuvation (did you mean: [activation,activations])"
    with pytest.raises(AttributeError) as e:
        p.Set(actuvation=1)
    assert str(e.value) == "actuvation (did you mean: [activation,activations])"
    with pytest.raises(AttributeError) as e:
        _ = p.xyz
    assert str(e.value) == "xyz (keys are ['activation', 'activations', 'cheesecake', 'tofu'])"


def test_unknown_nested_key_names_full_path_and_level_keys():
    p = Params()
    p.Define("beta", 1, "Beta.")
    inner = Params()
    inner.Define("alpha", 1, "Alpha.")
    inner.Define("gamma2", 1, "Gamma two.")
    p.Define("inner", inner, "Inner.")
    with pytest.raises(AttributeError) as e:
        p.Set(**{"inner.gamma": 1})
    assert str(e.value) == "inner.gamma (did you mean: [gamma2])"
    with pytest.raises(AttributeError) as e:
        p.Get("inner.zzz")
    assert str(e.value) == "inner.zzz (keys are ['alpha', 'gamma2'])"
    with pytest.raises(AttributeError) as e:
        p.Set(**{"innr.alpha": 1})
    assert str(e.value) == "innr.alpha (unknown 'innr'; did you mean: [inner])"
    with pytest.raises(AttributeError, match=r"inner\.alpah .*did you mean: \[alpha\]"):
        p.Delete("inner.alpah")


def test_unknown_subscripts():
    p = _tree()
    with pytest.raises(
        AttributeError, match=r"pairs\[dex\]\.bar \(unknown 'dex'; did you mean: \[dec\]\)"
    ):
        p.Set(**{"pairs[dex].bar": 1})
    with pytest.raises(AttributeError, match=r"tower\['lfet'\]\.bar .*'left'"):
        p.Get("tower['lfet'].bar")
    with pytest.raises(AttributeError, match=r"index 5 out of range"):
        p.Get("layers[5].bar")
    with pytest.raises(ValueError, match="Malformed parameter key"):
        p.Get("layers[0.bar")
    with pytest.raises(ValueError, match="ends in a subscript"):
        p.Set(**{"layers[0]": 1})


def test_freeze():
    p = _tree()
    p.Freeze()
    assert p.IsFrozen() and p.IsImmutable()
    assert p.foo == 1 and p.Get("inner.bar") == 2  # reads work
    with pytest.raises(TypeError, match=r"immutable.*'foo'"):
        p.foo = 2
    with pytest.raises(TypeError, match=r"immutable.*'nope'"):
        p.nope = 2  # checked before the name
    with pytest.raises(TypeError, match=r"immutable.*'foo'"):
        p.Set(foo=2)
    with pytest.raises(TypeError, match=r"immutable.*'new'"):
        p.Define("new", 1, "New.")
    with pytest.raises(TypeError, match=r"immutable.*'foo'"):
        p.Delete("foo")
    with pytest.raises(TypeError, match=r"immutable.*'foo'"):
        p.FromText("foo : 3")
    with pytest.raises(TypeError):
        p._immutable = False
    # Shallow: nested Params stay mutable.
    p.inner.bar = 5
    assert p.inner.bar == 5
    # Copies keep each level's state.
    q = p.Copy()
    assert q.IsFrozen() and not q.inner.IsFrozen()
    assert q == p
    # Unfreeze opens one copy again; the original stays frozen.
    q.Unfreeze()
    q.foo = 7
    assert q.foo == 7 and p.foo == 1 and p.IsFrozen()


def test_frozen_nested_params_reject_dotted_changes():
    p = _tree()
    p.inner.Freeze()
    with pytest.raises(TypeError, match=r"immutable.*'inner.bar'"):
        p.Set(**{"inner.bar": 3})
    with pytest.raises(TypeError, match=r"immutable.*'inner.bar'"):
        p.Delete("inner.bar")
    with pytest.raises(TypeError, match=r"'inner.bar'.*immutable"):
        p.FromText("inner.bar : 3")
    p.FromText("inner.bar : 2")  # an unchanged value is fine (round trips of frozen parts)
    # A frozen Params can still be replaced as a whole.
    p.inner = _inner(9)
    assert p.inner.bar == 9


def test_equality():
    p, q = _tree(), _tree()
    assert p == q and not p != q  # noqa: SIM202
    q.inner.bar = 3
    assert p != q and not p == q  # noqa: SIM201
    assert p != 3 and not p == 3  # noqa: SIM201
    r = _tree()
    r.Define("extra", None, "Extra.")
    assert p != r
    # Order of definition, descriptions and the frozen flag are ignored.
    a, b = Params(), Params()
    a.Define("x", 1, "X.")
    a.Define("y", 2, "Y.")
    b.Define("y", 2, "Other doc.")
    b.Define("x", 1, "Other doc.")
    b.Freeze()
    assert a == b
    with pytest.raises(TypeError):
        hash(a)


def test_instantiable_equality_differs_by_cls():
    ip = InstantiableParams()
    assert ip != Params()
    assert ip.GetKeys() == ["cls"]


def test_copy_is_deep_and_shares_immutables():
    class Thing:
        def __init__(self):
            self.items = [1]

    p = _tree()
    thing = Thing()
    p.Define("thing", thing, "An arbitrary object.")
    p.Define("cls_value", Thing, "A class.")
    p.Define("func", len, "A builtin.")
    p.Define("tup", (1, "a"), "An immutable tuple.")
    p.Define("mtup", ([1], 2), "A tuple holding a list.")
    p.Define("enum", Color.B, "An enum.")
    q = p.Copy()
    assert q == p.Copy().Set(thing=q.thing)  # everything else compares equal
    assert q.inner is not p.inner and q.inner == p.inner
    assert q.layers is not p.layers and q.layers[0] is not p.layers[0]
    assert q.tower["left"] is not p.tower["left"]
    assert q.pairs[0][1] is not p.pairs[0][1] and q.pairs[0][0] == "enc"
    assert q.d is not p.d
    assert q.thing is not thing and q.thing.items == [1] and q.thing.items is not thing.items
    assert q.cls_value is Thing and q.func is len and q.enum is Color.B
    assert q.tup is p.tup
    assert q.mtup is not p.mtup and q.mtup[0] is not p.mtup[0] and q.mtup == p.mtup
    q.inner.bar = 100
    assert p.inner.bar == 2
    t = _tree()
    assert copy.deepcopy(t) == t and copy.deepcopy(t) is not t
    assert copy.deepcopy(t).inner is not t.inner


def test_shallow_copy_has_its_own_table():
    p = _tree()
    q = copy.copy(p)
    q.foo = 5
    assert p.foo == 1 and q.inner is p.inner


def test_copy_keeps_subclass():
    class MyParams(Params):
        pass

    p = MyParams()
    p.Define("x", 1, "X.")
    assert type(p.Copy()) is MyParams


def test_pickle_round_trip():
    p = _tree()
    p.Freeze()
    q = pickle.loads(pickle.dumps(p))
    assert q == p and q.IsFrozen()
    ip = InstantiableParams(dict)
    ip.Define("x", 1, "X.")
    iq = pickle.loads(pickle.dumps(ip))
    assert type(iq) is InstantiableParams and iq.cls is dict and iq.x == 1


def test_str_golden():
    p = Params()
    inner = _inner()
    p.Define("foo", 1, "Foo.")
    p.Define("inner", inner, "Inner.")
    p.Define("list", [1, inner, 2], "A list holding Params.")
    p.Define("dict", {"a": 1, "b": inner}, "A dict holding Params.")
    p.Define("enum", Color.B, "An enum.")
    expected = (
        "{\n"
        "  dict: {'a': 1, 'b': {'bar': 2}}\n"
        "  enum: Color.B\n"
        "  foo: 1\n"
        "  inner: {\n"
        "    bar: 2\n"
        "  }\n"
        "  list: [1, {'bar': 2}, 2]\n"
        "}"
    )
    assert str(p) == expected
    assert str(Params()) == "{\n\n}"


def test_str_strings_and_repr_objects():
    class R:
        def Repr(self):
            return "custom!"

    p = Params()
    p.Define("s", 'a"b', "A string with a quote.")
    p.Define("r", [R()], "An object with Repr().")
    p.Define("dq", {"k": "it's"}, "A dict with a quoted string.")
    assert str(p) == "{\n  dq: {'k': \"it's\"}\n  r: ['custom!']\n  s: \"a\"b\"\n}"


def test_visit_enter_true():
    p = _tree()
    visited, entered, exited = [], [], []

    def enter(k, v):
        entered.append(k)
        return True

    p.Visit(lambda k, v: visited.append((k, v)), enter, lambda k, v: exited.append(k))
    assert visited == [
        ("foo", 1),
        ("inner.bar", 2),
        ("layers[0].bar", 10),
        ("layers[1].bar", 20),
        ("tower['left'].bar", 3),
        ("tower['right'].bar", 4),
        ("pairs[enc].bar", 5),
        ("pairs[dec].bar", 6),
        ("d['a']", 1),
    ]
    assert entered[0] == "" and exited[-1] == ""
    assert "pairs" in entered and "layers" in entered


def test_visit_enter_false_and_types():
    p = _tree()
    visited = []
    p.Visit(lambda k, v: visited.append(k), lambda k, v: k == "")
    assert visited == ["foo", "inner", "layers", "tower", "d"]  # pairs: neither visited nor exited

    class Hey:
        def __init__(self):
            self.x = 1

    import collections

    Nt = collections.namedtuple("Nt", ["x"])
    q = Params()
    q.Define("inner", {"a": [("b", ("c", "d", Nt(Hey())))]}, "Nested containers.")
    keys = []
    q.Visit(lambda k, v: keys.append(k))
    assert keys == [
        "inner['a'][0][0]",
        "inner['a'][0][1][0]",
        "inner['a'][0][1][1]",
        "inner['a'][0][1][2][x]",
    ]


def test_copy_fields_to():
    src = _tree()
    dst = _tree()
    dst.inner.bar = 99
    skip = ["foo"]
    assert CopyFieldsTo(src, dst, skip=skip) is dst
    assert skip == ["foo"]  # not mutated (Lingvo appended 'cls')
    assert dst.inner == src.inner and dst.inner is not src.inner
    src.foo = 42
    CopyFieldsTo(src, dst, skip="foo")
    assert dst.foo == 1
    extra = _tree()
    extra.Define("unknown", 1, "Not in dst.")
    with pytest.raises(AttributeError, match="unknown"):
        CopyFieldsTo(extra, _tree())
    CopyFieldsTo(extra, dst, ignore_unknown_keys=True)


def test_copy_fields_never_copies_cls():
    a = InstantiableParams(dict)
    a.Define("x", 1, "X.")
    a.Define("y", 2, "Y.")
    b = InstantiableParams(list)
    b.Define("x", 0, "X.")
    b.Define("y", 0, "Y.")
    CopyFieldsTo(a, b)
    assert b.cls is list and b.x == 1
    c = InstantiableParams(set)
    c.Define("x", 0, "X.")
    c.Define("y", 0, "Y.")
    CopyFieldsSubsetTo(a, c, ["y", "cls"])
    assert c.cls is set and (c.x, c.y) == (0, 2)
    CopyFieldsSubsetTo(a, c, "x")
    assert c.x == 1
    d = InstantiableParams(tuple)
    d.Define("x", 0, "X.")
    assert d.MergeCommonKeysFrom(a) is d
    assert d.cls is tuple and d.x == 1


class Builder:
    def __init__(self, params, shared=None):
        self.params = params
        self.shared = shared


def test_instantiate():
    p = InstantiableParams(Builder)
    p.Define("dim", 3, "Dim.")
    obj = p.Instantiate()
    assert isinstance(obj, Builder) and obj.params is p and obj.shared is None
    obj2 = p.Instantiate(shared="state")
    assert obj2.shared == "state"
    with pytest.raises(AssertionError):
        InstantiableParams().Instantiate()
    q = p.Copy()
    assert type(q) is InstantiableParams and q.cls is Builder and q == p


def test_instantiable_params_generic_subscription():
    p = InstantiableParams[Builder](Builder)
    assert p.Instantiate().params is p


def test_text_diff_goldens():
    a, b = Params(), Params()
    a.Define("a", 43, "A.")
    b.Define("a", 42, "A.")
    for x, hey in ((a, "hi"), (b, "hello")):
        d = Params()
        d.Define("hey", hey, "Hey.")
        x.Define("d", d, "D.")
        x.Define("same", 1, "Same.")
    assert a.TextDiff(b) == "> a: 43\n< a: 42\n? d:\n>   hey: hi\n<   hey: hello\n"

    a, b = Params(), Params()
    a.Define("b", [1, 2], "B.")
    b.Define("b", [1, 3], "B.")
    assert a.TextDiff(b) == "> b[1]: 2\n< b[1]: 3\n"

    def losses(beta):
        p = Params()
        p.Define("beta", beta, "Beta.")
        return [("l1", p)]

    a, b = Params(), Params()
    a.Define("losses", losses(0.5), "L.")
    b.Define("losses", losses(0.75), "L.")
    assert a.TextDiff(b) == "? losses[0][1]:\n>   beta: 0.5\n<   beta: 0.75\n"

    a, b = Params(), Params()
    a.Define("as_dict", {"key": "value"}, "D.")
    b.Define("as_dict", {"key": "another_value", "another_key": 1}, "D.")
    expected = "? as_dict:\n<   another_key: 1\n>   key: value\n<   key: another_value\n"
    assert a.TextDiff(b) == expected


def test_text_diff_only_one_side_and_lengths():
    a, b = Params(), Params()
    a.Define("x", 1, "X.")
    b.Define("y", 2, "Y.")
    a.Define("l", [1, 2, 3], "L.")
    b.Define("l", [1], "L.")
    assert a.TextDiff(b) == "> l[1]: 2\n> l[2]: 3\n> x: 1\n< y: 2\n"
    assert a.TextDiff(a.Copy()) == ""


def test_module_imports_no_heavy_dependencies():
    code = (
        "import sys; import lingvo.params.hyperparams, lingvo.params.value_codecs; "
        "bad = {'numpy', 'tensorflow', 'google.protobuf'} & set(sys.modules); "
        "sys.exit(1 if bad else 0)"
    )
    src = re.sub(r"/lingvo/params/hyperparams\.py$", "", hyperparams.__file__)
    env_path = src.rsplit("/lingvo", 1)[0]
    result = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, {env_path!r}); {code}"],
        check=False,
    )
    assert result.returncode == 0
