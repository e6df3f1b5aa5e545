"""Tests for lingvo.params.nested_map."""

import collections
import copy
import dataclasses
import logging
import pickle
import re
import types

import pytest

from lingvo.params.nested_map import NestedMap

_Tuple = collections.namedtuple("Tuple", ["x", "y"])


def _AddOne(x):
    return None if x is None else x + type(x)(1)


def _Basic():
    m = NestedMap()
    m.foo = [1, 20, [32]]
    m.bar = NestedMap()
    m.bar.x = 100
    m.bar.y = [200, NestedMap(z="abc")]
    return m


def _Advanced():
    m = NestedMap()
    m.w = None
    m.y = (200, NestedMap(z="abc"))
    m.x = {"foo": 1, "bar": "def"}
    m.z = _Tuple(5, "xyz")
    m.zz = []
    return m


_BASIC_KEYS = ["bar.x", "bar.y[0]", "bar.y[1].z", "foo[0]", "foo[1]", "foo[2][0]"]
_BASIC_VALUES = [100, 200, "abc", 1, 20, 32]
_BASIC_DEBUG = """\
bar.x         100
bar.y[0]      200
bar.y[1].z    abc
foo[0]        1
foo[1]        20
foo[2][0]     32"""
_ADVANCED_ITEMS = [
    ("w", None),
    ("x.bar", "def"),
    ("x.foo", 1),
    ("y", (200, {"z": "abc"})),
    ("z", _Tuple(x=5, y="xyz")),
]


def _FilterInput():
    return NestedMap(a=100, b=200, c=300, d=NestedMap(foo=38, bar=192, ok=[200, 300], ko=[10, 20]))


# ------------------------------------------------------------------ keys and access


class TestKeysAndAccess:
    def test_basic(self):
        x = NestedMap()
        assert len(x) == 0
        x["foo"] = 100
        assert x.foo == 100
        assert x["foo"] == 100
        x.bar = NestedMap({"baz": 200})
        assert x.bar.baz == 200
        assert "flatten" not in x

    def test_attr_access(self):
        a = NestedMap()
        name = "a1"
        a.a1 = 10
        assert a.a1 == a["a1"] == a.get("a1") == getattr(a, name) == 10
        a["a1"] = 20
        assert a.a1 == a["a1"] == a.get("a1") == getattr(a, name) == 20
        with pytest.raises(AttributeError, match="available attributes"):
            _ = a.a2
        with pytest.raises(KeyError):
            _ = a["a2"]
        with pytest.raises(AssertionError, match="is a reserved key"):
            a.get = 10
        with pytest.raises(AssertionError, match="is a reserved key"):
            a["get"] = 10
        with pytest.raises(AssertionError, match="is a reserved key"):
            NestedMap(get=2)
        del a.a1
        with pytest.raises(AttributeError, match="available attributes"):
            _ = a.a1
        with pytest.raises(AttributeError, match="available attributes"):
            del a.a2

    def test_missing_key_messages(self):
        m = NestedMap(b=1, a=2)
        with pytest.raises(KeyError) as e:
            _ = m["zz"]
        assert e.value.args == ("'zz'; available attributes: ['a', 'b']",)
        with pytest.raises(AttributeError) as e:
            _ = m.zz
        assert str(e.value) == "'zz'; available attributes: ['a', 'b']"
        with pytest.raises(KeyError) as e:
            del m["zz"]
        assert e.value.args == ("'zz'; available attributes: ['a', 'b']",)
        assert not hasattr(m, "zz")
        assert hasattr(m, "a")
        # Plain dict behaviour is untouched where it does not raise.
        assert m.get("zz") is None
        assert m.pop("zz", 7) == 7

    def test_del_attr(self):
        m = NestedMap(a=1, b=2)
        del m.a
        del m["b"]
        assert m == {}

    @pytest.mark.parametrize("key", ["a", "_", "_a1", "A_b_9", "class", "Flatten", "x" * 200])
    def test_valid_keys(self, key):
        m = NestedMap({key: 1})
        m[key] = 2
        NestedMap.CheckKey(key)
        assert m[key] == 2

    @pytest.mark.parametrize(
        "key", ["", "1a", "a.b", "a-b", "a[0]", "a b", "é", "a\n", "ab[12]", "x.y[0]"]
    )
    def test_invalid_keys(self, key):
        # Lingvo accepted anything with a valid prefix ('a.b', 'a[0]'); we need a full match.
        with pytest.raises(ValueError, match=re.escape(f"Invalid NestedMap key {key!r}")):
            NestedMap.CheckKey(key)
        with pytest.raises(ValueError, match="Invalid NestedMap key"):
            NestedMap()[key] = 1
        with pytest.raises(ValueError, match="Invalid NestedMap key"):
            NestedMap({key: 1})
        with pytest.raises(ValueError, match="Invalid NestedMap key"):
            setattr(NestedMap(), key, 1)

    def test_invalid_key_hints_at_set(self):
        with pytest.raises(ValueError, match=re.escape("NestedMap.Set('a.b', value)")):
            NestedMap()["a.b"] = 1
        with pytest.raises(ValueError) as e:
            NestedMap()["a-b"] = 1
        assert "Set(" not in str(e.value)

    def test_check_key_non_string(self):
        with pytest.raises(ValueError, match="Invalid NestedMap key 3"):
            NestedMap.CheckKey(3)

    @pytest.mark.parametrize("key", [1, None, b"ab", ("a",)])
    def test_non_string_keys(self, key):
        with pytest.raises(AssertionError, match="has to be a string type"):
            NestedMap()[key] = 1
        with pytest.raises(TypeError, match="has to be a string type"):
            NestedMap({key: 1})

    @pytest.mark.parametrize("key", sorted(dir(dict)))
    def test_reserved_keys(self, key):
        with pytest.raises(ValueError, match="is a reserved key"):
            NestedMap()[key] = 1
        with pytest.raises(AssertionError, match=f"'{re.escape(key)}' is a reserved key"):
            NestedMap(**{key: 1})

    def test_reserved_keys_constant(self):
        assert frozenset(dir(dict)) == NestedMap._RESERVED_KEYS
        assert {"keys", "items", "values", "get", "pop", "update", "copy"} <= (
            NestedMap._RESERVED_KEYS
        )

    def test_method_names_are_allowed_as_keys(self):
        m = NestedMap(Flatten=1, Get=2)
        assert m["Flatten"] == 1
        # Attribute access still finds the method.
        assert m.Flatten() == [1, 2]
        assert m.Get("Get") == 2

    def test_update_setdefault_ior_check_keys(self):
        m = NestedMap()
        with pytest.raises(ValueError, match="Invalid NestedMap key"):
            m.update({"a.b": 1})
        with pytest.raises(ValueError, match="Invalid NestedMap key"):
            m.update(x=1, **{"1x": 2})
        with pytest.raises(AssertionError, match="reserved"):
            m.setdefault("keys", 1)
        with pytest.raises(ValueError, match="Invalid NestedMap key"):
            m |= {"a-b": 1}
        # Keys are checked before anything is inserted.
        assert m == {}
        m.update({"a": 1}, b=2)
        m.update([("c", 3)])
        assert m.setdefault("a", 10) == 1
        assert m.setdefault("d") is None
        m |= {"e": 5}
        assert isinstance(m, NestedMap)
        assert m == {"a": 1, "b": 2, "c": 3, "d": None, "e": 5}

    def test_init_copies_shallow_and_keeps_nested_dicts(self):
        inner = {"a1": 1}
        src = {"a": inner, "l": [inner]}
        m = NestedMap(src)
        assert m == src
        assert m.a is inner
        assert not isinstance(m.a, NestedMap)
        src["b"] = 2
        assert "b" not in m
        assert NestedMap(src, c=3).c == 3
        assert NestedMap([("k", 1)]).k == 1

    def test_dict_behaviour(self):
        m = NestedMap(b=1, a=2)
        assert m == {"b": 1, "a": 2}
        # The plain dict on the left: equality is symmetric.
        assert {"a": 2, "b": 1} == m  # noqa: SIM300
        assert list(m) == ["b", "a"]
        assert repr(m) == "{'b': 1, 'a': 2}"
        assert str(m) == repr(m)
        assert isinstance(m, dict)

    def test_dir(self):
        nm = NestedMap({"a": {"b": 0}})
        nm.c = "1"
        nm.e = []
        names = dir(nm)
        assert "a.b" in names
        assert "c" in names
        assert "Get" in names
        assert "keys" in names
        # Top-level keys are listed even when they hold containers (Lingvo omitted them).
        assert "a" in names
        assert "e" in names
        assert names == sorted(set(names))


# ------------------------------------------------------------------ traversal


class TestFlatten:
    def test_empty(self):
        assert NestedMap().Flatten() == []
        assert NestedMap().FlattenItems() == []
        assert NestedMap().Keys() == []

    def test_basic(self):
        m = _Basic()
        assert m.Flatten() == _BASIC_VALUES
        assert m.FlattenItems() == list(zip(_BASIC_KEYS, _BASIC_VALUES, strict=True))
        assert m.Keys() == _BASIC_KEYS

    def test_advanced(self):
        m = _Advanced()
        # Tuples and namedtuples are leaves; empty lists contribute nothing.
        assert m.Flatten() == [None, "def", 1, (200, {"z": "abc"}), _Tuple(x=5, y="xyz")]
        assert m.FlattenItems() == _ADVANCED_ITEMS
        assert m.Keys() == ["w", "x.bar", "x.foo", "y", "z"]

    def test_sorted_keys_and_list_order(self):
        m = NestedMap(b=[3, 1, 2], a=NestedMap(d=1, c=2), aa=0)
        m.B = 5
        assert m.Keys() == ["B", "a.c", "a.d", "aa", "b[0]", "b[1]", "b[2]"]
        assert m.Flatten() == [5, 2, 1, 0, 3, 1, 2]

    def test_list_of_dicts_and_nested_lists(self):
        m = NestedMap(a=[{"y": 1, "x": 2}, [[3], []], {}], b={})
        assert m.FlattenItems() == [("a[0].x", 2), ("a[0].y", 1), ("a[1][0][0]", 3)]

    def test_empty_containers_give_no_leaves(self):
        m = NestedMap(a=[], b={}, c=NestedMap(), d=[[], {}], e=(), f=None)
        assert m.FlattenItems() == [("e", ()), ("f", None)]

    def test_plain_dict_with_non_string_keys(self):
        m = NestedMap(a={2: "two", 1: "one"})
        assert m.FlattenItems() == [("a.1", "one"), ("a.2", "two")]

    def test_other_leaf_types(self):
        s = {1, 2}
        mp = types.MappingProxyType({"k": 1})
        m = NestedMap(s=s, mp=mp, r=range(3), st="abc")
        assert m.Flatten() == [mp, range(3), s, "abc"]


class TestPack:
    def test_empty(self):
        assert NestedMap().Pack([]) == {}
        assert NestedMap().Pack([]).DebugString() == ""

    def test_basic(self):
        m = _Basic()
        n = m.Pack(list(range(6)))
        assert n.DebugString() == (
            "bar.x         0\nbar.y[0]      1\nbar.y[1].z    2\n"
            "foo[0]        3\nfoo[1]        4\nfoo[2][0]     5"
        )
        assert m.DebugString() == _BASIC_DEBUG

    def test_advanced(self):
        m = _Advanced()
        n = m.Pack([*range(4), None])
        assert n.zz == []
        assert n.FlattenItems() == [("w", 0), ("x.bar", 1), ("x.foo", 2), ("y", 3), ("z", None)]
        assert m.FlattenItems() == _ADVANCED_ITEMS

    def test_accepts_tuples_and_iterables(self):
        m = NestedMap(a=1, b=[2, 3])
        assert m.Pack((4, 5, 6)) == {"a": 4, "b": [5, 6]}
        assert m.Pack(iter([7, 8, 9])) == {"a": 7, "b": [8, 9]}

    @pytest.mark.parametrize("values", [[], [1], [1, 2, 3, 4]])
    def test_length_mismatch(self, values):
        m = NestedMap(a=1, b=[2, 3])
        expected = (
            f"Template contains 3 keys ['a', 'b[0]', 'b[1]'] that does not match length of "
            f"values to pack ({len(values)}): {values}."
        )
        with pytest.raises(ValueError) as e:
            m.Pack(values)
        assert str(e.value) == expected

    def test_length_mismatch_message_is_truncated(self):
        m = NestedMap(a=list(range(100)))
        with pytest.raises(ValueError, match=r"Template contains 100 keys .*\(80 more\)"):
            m.Pack([0])

    def test_rebuilds_containers_and_keeps_types(self):
        class Sub(NestedMap):
            pass

        od = collections.OrderedDict(b=1, a=2)
        m = Sub(p={"k": 1}, q=NestedMap(k=2), s=Sub(k=3), o=od, l=[4], e=[], f={})
        n = m.Pack(list(range(10, 16)))
        assert type(n) is Sub
        assert type(n.p) is dict
        assert type(n.q) is NestedMap
        assert type(n.s) is Sub
        assert type(n.o) is collections.OrderedDict
        assert n.e == [] and n.e is not m.e
        assert n.f == {} and n.f is not m.f
        assert n.p is not m.p
        assert n == {
            "e": [],
            "f": {},
            "l": [10],
            "o": {"a": 11, "b": 12},
            "p": {"k": 13},
            "q": {"k": 14},
            "s": {"k": 15},
        }

    def test_rebuilt_dicts_are_in_sorted_order(self):
        m = NestedMap(b=1, a=NestedMap(d=2, c=3))
        n = m.Transform(lambda v: v)
        assert list(n) == ["a", "b"]
        assert list(n.a) == ["c", "d"]


class TestTransform:
    def test_empty(self):
        assert NestedMap().Transform(_AddOne).DebugString() == ""

    def test_basic(self):
        m = _Basic()
        n = m.Transform(_AddOne)
        assert n.DebugString() == (
            "bar.x         101\nbar.y[0]      201\nbar.y[1].z    abc1\n"
            "foo[0]        2\nfoo[1]        21\nfoo[2][0]     33"
        )
        assert m.DebugString() == _BASIC_DEBUG

    def test_advanced_tuples_are_passed_whole(self):
        m = _Advanced()
        with pytest.raises(TypeError):
            m.Transform(_AddOne)

        def AddOneIgnoreError(x):
            try:
                return _AddOne(x)
            except TypeError:
                return x

        n = m.Transform(AddOneIgnoreError)
        assert n.zz == []
        assert n.FlattenItems() == [
            ("w", None),
            ("x.bar", "def1"),
            ("x.foo", 2),
            ("y", (200, {"z": "abc"})),
            ("z", _Tuple(x=5, y="xyz")),
        ]
        assert m.FlattenItems() == _ADVANCED_ITEMS

    def test_with_key(self):
        m = _Basic()
        n = m.TransformWithKey(lambda k, v: f"{k}={v}")
        assert n.Flatten() == [f"{k}={v}" for k, v in zip(_BASIC_KEYS, _BASIC_VALUES, strict=True)]
        assert n.Keys() == _BASIC_KEYS
        assert m.Flatten() == _BASIC_VALUES

    def test_leaves_are_not_copied(self):
        obj = object()
        m = NestedMap(a=[obj])
        assert m.Transform(lambda v: v).a[0] is obj

    def test_none_results_are_kept(self):
        m = NestedMap(a=1, b=[2])
        assert m.Transform(lambda v: None) == {"a": None, "b": [None]}


class TestFilter:
    def test_filter(self):
        y = _FilterInput().Filter(lambda v: v > 150)
        assert y.FlattenItems() == [
            ("b", 200),
            ("c", 300),
            ("d.bar", 192),
            ("d.ok[0]", 200),
            ("d.ok[1]", 300),
        ]
        # A list emptied by the filter is removed.
        assert "ko" not in y.d

    def test_filter_everything(self):
        y = _FilterInput().Filter(lambda v: v > 500)
        assert y.FlattenItems() == []
        assert y == {}
        assert type(y) is NestedMap

    def test_filter_key_val_uses_original_keys(self):
        selected = {"a", "d.foo", "d.ok[1]"}
        seen = []

        def Sel(k, v):
            seen.append(k)
            return k in selected

        y = _FilterInput().FilterKeyVal(Sel)
        assert y.FlattenItems() == [("a", 100), ("d.foo", 38), ("d.ok[0]", 300)]
        assert seen == ["a", "b", "c", "d.bar", "d.foo", "d.ko[0]", "d.ko[1]", "d.ok[0]", "d.ok[1]"]

    def test_already_empty_containers_are_kept(self):
        m = NestedMap(a=[], b={}, c=NestedMap(x=[], y=1), d=[[], 5], e=NestedMap(f={}))
        y = m.Filter(lambda v: False)
        assert y == {"a": [], "b": {}, "c": {"x": []}, "d": [[]], "e": {"f": {}}}

    def test_nested_emptied_containers_are_removed(self):
        m = NestedMap(a=NestedMap(b=NestedMap(c=[1, [2]])), k=3)
        assert m.Filter(lambda v: v == 3) == {"k": 3}
        assert m.Filter(lambda v: v == 2) == {"a": {"b": {"c": [[2]]}}}

    def test_truthiness(self):
        m = NestedMap(a=0, b="", c=None, d=[1, 0])
        assert m.Filter(lambda v: v) == {"d": [1]}

    def test_subclass_root_when_everything_removed(self):
        class Sub(NestedMap):
            pass

        y = Sub(a=1).Filter(lambda v: False)
        assert type(y) is Sub and y == {}


class TestIsCompatible:
    def test_empty_containers_are_ignored(self):
        empty = NestedMap()
        assert empty.IsCompatible(empty)
        assert empty.IsCompatible(NestedMap(x=[]))
        assert empty.IsCompatible(NestedMap(x=empty))
        assert empty.IsCompatible(NestedMap(x={}))

    def test_structures(self):
        x = NestedMap(a="a", b="b", c=NestedMap(d="d", e=[1, 2, 4]))
        y = NestedMap(a=1, b=2, c=NestedMap(d=3, e=[10, 20, 30]))
        z = NestedMap(a=1, b=[10, 20, 30], c=NestedMap(d=3, e=["x", "y", "z"]))
        assert x.IsCompatible(y)
        assert y.IsCompatible(x)
        assert not x.IsCompatible(z)
        assert not x.IsCompatible(NestedMap(a=1, b=2, c=NestedMap(d=3, e=[1, 2])))

    def test_dict_vs_nested_map_and_tuples(self):
        assert NestedMap(a={"b": 1}).IsCompatible(NestedMap(a=NestedMap(b=(1, 2))))
        assert NestedMap(a=1).IsCompatible({"a": [5]}) is False
        assert NestedMap(a=[5]).IsCompatible({"a": [6]})

    def test_non_dict_is_not_compatible(self):
        assert not NestedMap().IsCompatible([])
        assert not NestedMap(a=1).IsCompatible(None)


# ------------------------------------------------------------------ copying


class TestCopy:
    def test_assignment_is_not_a_copy(self):
        x = NestedMap(a="a", b="b", c=NestedMap(d="d", e=[1, 2, 4]))
        y = x
        y.a = "y"
        assert x.a == "y"

    @pytest.mark.parametrize(
        "make_copy", [NestedMap, lambda m: m.copy(), copy.copy], ids=["ctor", "copy", "copy.copy"]
    )
    def test_shallow_copies(self, make_copy):
        x = NestedMap(a="a", b="b", c=NestedMap(d="d", e=[1, 2, 4]))
        y = make_copy(x)
        assert y is not x
        assert type(y) is NestedMap
        y.a = "y"
        y.c.d = "z"
        assert (y.a, x.a) == ("y", "a")
        assert (y.c.d, x.c.d) == ("z", "z")

    def test_copy_keeps_subclass(self):
        class Sub(NestedMap):
            pass

        assert type(Sub(a=1).copy()) is Sub
        assert type(copy.copy(Sub(a=1))) is Sub
        assert type(copy.deepcopy(Sub(a=1))) is Sub

    @pytest.mark.parametrize("deep_copy", [copy.deepcopy, lambda m: m.DeepCopy()])
    def test_deep_copy(self, deep_copy):
        class SomeObj:
            def __init__(self):
                self.foo = "foo"

        inner = SomeObj()
        x = NestedMap(
            a="a",
            b="b",
            c=NestedMap(d="d", e=[1, 2, 4], obj=SomeObj(), t=(inner,)),
            f=[],
            g={},
            h=NestedMap(),
            i=None,
        )
        y = deep_copy(x)
        assert y is not x
        assert y == x
        y.a = "x"
        y.c.e[0] = "y"
        y.c.obj.foo = "bar"
        y.f.append(5)
        y.h.foo = "bar"
        assert x.a == "a"
        assert x.c.e[0] == 1
        assert x.f == []
        assert x.g == {}
        assert len(x.h) == 0
        assert y.a == "x"
        assert y.c.e[0] == "y"
        assert y.f == [5]
        assert y.g == {} and y.g is not x.g
        assert y.h == {"foo": "bar"}
        assert y.i is None
        # Leaves, including objects inside tuples, are shared.
        assert x.c.obj.foo == "bar"
        assert y.c.obj is x.c.obj
        assert y.c.t is x.c.t

    def test_deepcopy_of_a_containing_structure(self):
        leaf = [1]
        outer = {"m": NestedMap(a=(leaf,))}
        out = copy.deepcopy(outer)
        assert out["m"] is not outer["m"]
        assert out["m"].a[0] is leaf

    @pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
    def test_pickle(self, protocol):
        m = NestedMap(a=1, b=NestedMap(c=[1, {"d": (2, 3)}]), e=[])
        out = pickle.loads(pickle.dumps(m, protocol=protocol))
        assert out == m
        assert type(out) is NestedMap
        assert type(out.b) is NestedMap
        assert out.b.c[1] == {"d": (2, 3)}
        out.x = 5
        assert out.x == 5

    def test_pickle_subclass(self):
        out = pickle.loads(pickle.dumps(_PickleSub(a=NestedMap(b=2))))
        assert type(out) is _PickleSub
        assert out.a.b == 2


class _PickleSub(NestedMap):
    pass


# ------------------------------------------------------------------ path keys


class TestGetItem:
    def test_get_item(self):
        nm = NestedMap()
        nm["a"] = NestedMap({"x": 3})
        nm["b"] = NestedMap({"y_0": 4, "y": [3]})
        assert nm.GetItem("a.x") == nm.a.x
        assert nm.GetItem("b.y_0") == 4
        assert nm.GetItem("b.y[0]") == 3
        with pytest.raises(KeyError):
            nm.GetItem("o")
        with pytest.raises(IndexError):
            nm.GetItem("b.y[1]")
        with pytest.raises(TypeError):
            nm.GetItem("b.y.c")

    def test_error_messages_name_the_full_key(self):
        nm = NestedMap(a=NestedMap(x=3, w=1), b=[NestedMap(c=0)], d={"e": 1})
        with pytest.raises(KeyError) as e:
            nm.GetItem("a.q.r")
        assert e.value.args == (
            "'q'; available attributes: ['w', 'x'] (while getting key 'a.q.r')",
        )
        with pytest.raises(KeyError, match=r"'z'; available attributes: \['e'\]"):
            nm.GetItem("d.z")
        with pytest.raises(IndexError) as e:
            nm.GetItem("b[3].c")
        assert str(e.value) == (
            "index 3 is out of range for 'b' of length 1 (while getting key 'b[3].c')"
        )
        with pytest.raises(TypeError, match=r"cannot look up 'c' in 'b'.*'b.c'.*list.*a dict"):
            nm.GetItem("b.c")
        with pytest.raises(TypeError, match=r"cannot look up 0 in 'a.x'.*int.*expected a list"):
            nm.GetItem("a.x[0]")

    def test_multiple_indices(self):
        nm = NestedMap(a=[[1, [2, NestedMap(b=3)]]])
        assert nm.GetItem("a[0][1][1].b") == 3
        assert nm.GetItem("a[0][0]") == 1

    def test_round_trips_flatten_items(self):
        m = _Basic()
        assert [m.GetItem(k) for k in m.Keys()] == m.Flatten()

    def test_tuples_and_plain_dict_keys(self):
        nm = NestedMap(t=(5, 6), d={"not-an-identifier": 1})
        assert nm.GetItem("t[1]") == 6
        # Parts that are not names are looked up literally, as in Lingvo.
        assert nm.GetItem("d.not-an-identifier") == 1

    def test_get(self):
        nm = NestedMap({"a": {"b": 0}})
        assert nm.Get("a.b") == 0
        assert nm.Get("a.b.c") is None
        assert nm.Get("x") is None
        assert nm.Get("x", 0) == 0
        assert nm.Get("a") == {"b": 0}

    def test_get_from_nested_list(self):
        nm = NestedMap({"a": {"b": [0, 1, {"c": 2}]}})
        assert nm.Get("a.b") == [0, 1, {"c": 2}]
        assert nm.Get("a.b[1]") == 1
        assert nm.Get("a.b[2].c") == 2
        assert nm.Get("a.b[3]") is None
        assert nm.Get("a.b.c") is None
        assert nm.Get("a.b[2].c[0]", "dflt") == "dflt"

    def test_has(self):
        nm = NestedMap.FromNestedDict({"a": {"b": 0, "c": [{"d": 0}, {"e": 1}]}})
        assert nm.Has("a.b")
        assert nm.Has("a.c[1].e")
        assert nm.Has("a.c")
        assert not nm.Has("a.f")
        assert not nm.Has("a.c[2]")
        assert not nm.Has("zz")
        # Lingvo raised here: the path runs into a leaf or a list.
        assert not nm.Has("a.b.c")
        assert not nm.Has("a.b[0]")
        assert not nm.Has("a.c.d")

    def test_has_none_value(self):
        nm = NestedMap(a=None)
        assert nm.Has("a")
        assert not nm.Has("a.b")


class TestSquareBracketIndex:
    @pytest.mark.parametrize(
        "key, expected",
        [
            ("ab[12]", ("ab", 12)),
            ("a[0]", ("a", 0)),
            ("ab", ("ab", None)),
            ("a[0][1]", ("a[0][1]", None)),
            ("a[-1]", ("a[-1]", None)),
            ("a[x]", ("a[x]", None)),
            ("1a[0]", ("1a[0]", None)),
            ("a[\u0663]", ("a[\u0663]", None)),
        ],
    )
    def test_square_bracket_index(self, key, expected):
        assert NestedMap.SquareBracketIndex(key) == expected


class TestSet:
    def test_set(self):
        nm = NestedMap.FromNestedDict({"a": {"b": 0}})
        assert nm.a.b == 0
        assert nm.Set("a.b", 1) is None
        assert nm.a.b == 1
        with pytest.raises(ValueError):
            nm.Set("a.b.c", 2)
        nm.Set("a.b", NestedMap())
        nm.Set("a.b.x.y", 2)
        assert isinstance(nm.a.b.x, NestedMap)
        assert nm.a.b.x.y == 2
        nm.Set("a.b.z[0].y", 3)
        nm.Set("a.b.z[1].y", 4)
        assert isinstance(nm.a.b.z, list)
        assert nm.a.b.z[0].y == 3
        assert nm.a.b.z[1].y == 4
        with pytest.raises(ValueError):
            nm.Set("a.b.z[3]", 5)

    def test_set_indexed_round_trip(self):
        nm = NestedMap()
        nm.x = [43, 44]
        nm.y = 14
        nm.z = [NestedMap(b=13, c=[18, 8]), 4]
        another = NestedMap()
        for k, v in nm.FlattenItems():
            another.Set(k, v)
        assert another == nm

    def test_set_nested_lists_round_trip(self):
        # Lingvo could not Set its own 'foo[2][0]' keys (it stored them as literal keys).
        m = _Basic()
        out = NestedMap()
        for k, v in m.FlattenItems():
            out.Set(k, v)
        assert out == m
        assert "foo[2][0]" not in out

    def test_index_error_message(self):
        with pytest.raises(ValueError) as e:
            NestedMap().Set("a[1]", 1)
        assert str(e.value) == (
            "Error while setting key='a[1]'. The value under k='a' is a list and the index 1 "
            "is greater than the len=0 of this list"
        )

    def test_index_error_message_for_nested_index(self):
        nm = NestedMap(a=[[1]])
        with pytest.raises(ValueError) as e:
            nm.Set("a[0][2]", 1)
        assert str(e.value) == (
            "Error while setting key='a[0][2]'. The value under k='a[0]' is a list and the "
            "index 2 is greater than the len=1 of this list"
        )

    def test_not_a_dict_message(self):
        nm = NestedMap(a=1)
        with pytest.raises(ValueError) as e:
            nm.Set("a.b", 1)
        assert str(e.value) == (
            "Error while setting key='a.b'. Sub key \"a\" is of type <class 'int'> but must be "
            "a dict or NestedMap."
        )
        nm = NestedMap(a=[5])
        with pytest.raises(ValueError, match=r'Sub key "a\[0\]" is of type <class \'int\'>'):
            nm.Set("a[0].b", 1)

    def test_not_a_list_message(self):
        for value in (1, NestedMap(b=1), (1, 2)):
            nm = NestedMap(a=value)
            with pytest.raises(ValueError, match=r'Sub key "a" is of type .* must be a list'):
                nm.Set("a[0]", 1)
            assert nm.a == value

    @pytest.mark.parametrize("key", ["", "a..b", "a.", ".a", "1a", "a.b-c", "a[x]", "a[-1]"])
    def test_invalid_parts(self, key):
        nm = NestedMap()
        with pytest.raises(ValueError, match=re.escape(f"Error while setting key={key!r}")):
            nm.Set(key, 1)
        assert nm == {}

    def test_validates_before_modifying(self):
        nm = NestedMap()
        with pytest.raises(ValueError):
            nm.Set("x.y.1z", 1)
        assert nm == {}

    def test_reserved_parts(self):
        nm = NestedMap()
        with pytest.raises(AssertionError, match="reserved"):
            nm.Set("a.keys", 1)
        with pytest.raises(AssertionError, match="reserved"):
            nm.Set("get[0]", 1)

    def test_list_append_and_overwrite(self):
        nm = NestedMap()
        nm.Set("a[0]", "x")
        nm.Set("a[1]", "y")
        nm.Set("a[0]", "z")
        assert nm.a == ["z", "y"]

    def test_none_slot_becomes_nested_map(self):
        nm = NestedMap(a=[None, 2])
        nm.Set("a[0].b", 1)
        assert isinstance(nm.a[0], NestedMap)
        assert nm.a == [{"b": 1}, 2]

    def test_multiple_indices(self):
        nm = NestedMap()
        nm.Set("a[0][0]", 1)
        nm.Set("a[0][1].b", 2)
        nm.Set("a[1][0][0]", 3)
        assert nm == {"a": [[1, {"b": 2}], [[3]]]}
        assert isinstance(nm.a[0][1], NestedMap)
        nm2 = NestedMap(a=[None])
        nm2.Set("a[0][0]", 1)
        assert nm2.a == [[1]]

    def test_set_into_plain_dict(self):
        nm = NestedMap(d={"x": 1})
        nm.Set("d.y.z", 2)
        assert type(nm.d) is dict
        assert isinstance(nm.d["y"], NestedMap)
        assert nm.d == {"x": 1, "y": {"z": 2}}

    def test_value_is_stored_not_copied(self):
        v = [1, 2]
        nm = NestedMap()
        nm.Set("a.b", v)
        assert nm.a.b is v


class TestSliceUpdateUnion:
    def test_get_slice(self):
        m = NestedMap()
        m.foo = NestedMap(a=123, b=345, c=NestedMap(d=654))
        assert m.GetSlice({"foo.a", "foo.c.d"}) == NestedMap(
            foo=NestedMap(a=123, c=NestedMap(d=654))
        )

    def test_get_slice_array(self):
        m = NestedMap()
        m.foo = [
            NestedMap(a=123, b=345, c=NestedMap(d=654)),
            NestedMap(a=987, b=654, c=NestedMap(d=354)),
        ]
        assert m.GetSlice(["foo[0].a", "foo[1].c.d"]) == NestedMap(
            foo=[NestedMap(a=123), NestedMap(c=NestedMap(d=354))]
        )

    def test_get_slice_errors(self):
        m = NestedMap(foo=[1, 2])
        with pytest.raises(KeyError):
            m.GetSlice(["bar"])
        with pytest.raises(ValueError, match="greater than the len=0"):
            m.GetSlice(["foo[1]"])

    def test_get_slice_shares_leaves_and_containers(self):
        inner = [1, 2]
        m = NestedMap(a=NestedMap(b=inner, c=1))
        out = m.GetSlice(["a.b"])
        assert out.a.b is inner
        assert out.a is not m.a

    def test_union(self):
        x = NestedMap(a=123, b=345, c=NestedMap(d=654))
        y = NestedMap(aa=987, bb=654, c=NestedMap(dd=354))
        expected = NestedMap(a=123, b=345, c=NestedMap(d=654, dd=354), aa=987, bb=654)
        assert x.Union(y) == expected
        assert x == NestedMap(a=123, b=345, c=NestedMap(d=654))
        assert y == NestedMap(aa=987, bb=654, c=NestedMap(dd=354))

    def test_union_other_wins(self):
        x = NestedMap(a=1, c=NestedMap(d=1))
        assert x.Union(NestedMap(a=2, c=NestedMap(d=3))) == {"a": 2, "c": {"d": 3}}

    def test_update(self):
        x = NestedMap(a=123, b=345, c=NestedMap(d=654))
        y = NestedMap(aa=987, bb=654, c=NestedMap(dd=354))
        assert x.Update(y) is x
        assert x == NestedMap(a=123, b=345, c=NestedMap(d=654, dd=354), aa=987, bb=654)

    def test_update_merges_lists_leaf_by_leaf(self):
        x = NestedMap(l=[9, [8, 7], 9])
        x.Update(NestedMap(l=[1, [2]], e=[], f={}))
        assert x == {"l": [1, [2, 7], 9]}
        with pytest.raises(ValueError, match=r'Sub key "l\[0\]" is of type <class \'int\'>'):
            x.Update(NestedMap(l=[[5]]))

    def test_update_with_plain_dict(self):
        x = NestedMap(a=NestedMap(b=1))
        x.Update({"a": {"c": 2}})
        assert x == {"a": {"b": 1, "c": 2}}

    def test_update_conflict(self):
        x = NestedMap(a=1)
        with pytest.raises(ValueError, match='Sub key "a"'):
            x.Update(NestedMap(a=NestedMap(b=2)))


# ------------------------------------------------------------------ conversion


class TestConversion:
    def test_from_nested_dict(self):
        a = {"a1": 1, "a2": 2}
        b = {"b1": 1, "b2": 2}
        c = {"a": a, "b": b, "ab": [a, b]}
        d = NestedMap(c)
        e = NestedMap.FromNestedDict(c)
        assert isinstance(d, NestedMap)
        assert not isinstance(d.a, NestedMap)
        assert isinstance(e.a, NestedMap)
        assert isinstance(e.ab[0], NestedMap)
        assert e.ab[0] == e.a
        assert e.ab[1] == e.b

    def test_from_nested_dict_containers(self):
        mp = types.MappingProxyType({"k": {"j": 1}})
        x = {"t": ({"a": 1}, 2), "n": _Tuple({"a": 1}, [{"b": 2}]), "mp": mp, "s": "str"}
        e = NestedMap.FromNestedDict(x)
        assert type(e.t) is tuple
        assert isinstance(e.t[0], NestedMap)
        # Lingvo raised TypeError on namedtuples.
        assert type(e.n) is _Tuple
        assert isinstance(e.n.x, NestedMap)
        assert isinstance(e.n.y[0], NestedMap)
        assert isinstance(e.mp, NestedMap) and isinstance(e.mp.k, NestedMap)
        assert e.s == "str"
        assert NestedMap.FromNestedDict([{"a": 1}]) == [{"a": 1}]
        assert isinstance(NestedMap.FromNestedDict([{"a": 1}])[0], NestedMap)
        assert NestedMap.FromNestedDict(5) == 5

    def test_from_nested_dict_does_not_copy_leaves(self):
        leaf = object()
        assert NestedMap.FromNestedDict({"a": leaf}).a is leaf

    def test_from_nested_dict_bad_keys(self):
        with pytest.raises(ValueError, match="Invalid NestedMap key 'a-b'"):
            NestedMap.FromNestedDict({"x": {"a-b": 1}})
        with pytest.raises(AssertionError):
            NestedMap.FromNestedDict({1: 2})

    def test_from_nested_dict_unwraps_dict_wrapper(self):
        class _DictWrapper:  # Stands in for TensorFlow's trackable dict wrapper.
            def __init__(self, wrapped):
                self.__wrapped__ = wrapped

        e = NestedMap.FromNestedDict({"w": _DictWrapper({"a": {"b": 1}})})
        assert isinstance(e.w, NestedMap)
        assert isinstance(e.w.a, NestedMap)
        assert e.w.a.b == 1

    def test_from_nested_dataclass(self):
        @dataclasses.dataclass
        class Inner:
            b: int = 1
            c: list = dataclasses.field(default_factory=lambda: [{"d": 2}])

        @dataclasses.dataclass
        class Outer:
            a: Inner = dataclasses.field(default_factory=Inner)
            e: str = "e"

        m = NestedMap.FromNestedDataclass(Outer())
        assert m == {"a": {"b": 1, "c": [{"d": 2}]}, "e": "e"}
        assert isinstance(m.a, NestedMap)
        assert isinstance(m.a.c[0], NestedMap)
        with pytest.raises(ValueError, match=r"must be a dataclass instance. Got <class 'dict'>"):
            NestedMap.FromNestedDataclass({"a": 1})
        with pytest.raises(ValueError, match="must be a dataclass"):
            NestedMap.FromNestedDataclass(Outer)

    def test_to_nested_dict(self):
        a = NestedMap(a1=1, a2=2)
        b = {"b1": 1, "b2": 2}
        c = NestedMap(a=a, b=b, ab=[a, b], t=(a,))
        d = c.ToNestedDict()
        assert isinstance(c, NestedMap)
        assert type(d) is dict
        assert isinstance(c.a, NestedMap)
        assert type(d["a"]) is dict
        assert type(d["ab"][0]) is dict
        assert d["b"] is not b
        # Tuples are not entered.
        assert d["t"][0] is a
        assert d == c
        assert list(NestedMap(b=1, a=2).ToNestedDict()) == ["b", "a"]


# ------------------------------------------------------------------ debugging


class TestDebug:
    def test_empty(self):
        assert NestedMap().DebugString() == ""

    def test_basic(self):
        assert _Basic().DebugString() == _BASIC_DEBUG

    def test_advanced(self):
        w, x1, x2, y, z = _Advanced().DebugString().split("\n")
        assert w == "w        None"
        assert x1 == "x.bar    def"
        assert x2 == "x.foo    1"
        assert y == "y        (200, {'z': 'abc'})"
        assert z == "z        Tuple(x=5, y='xyz')"

    def test_lines_are_sorted_as_strings(self):
        m = NestedMap(a=list(range(11)))
        lines = m.DebugString().split("\n")
        assert lines[:3] == ["a[0]     0", "a[10]    10", "a[1]     1"]

    def test_vlog(self, caplog):
        logger = "lingvo.params.nested_map"
        m = NestedMap(a=1, bb=NestedMap(c="x"))
        with caplog.at_level(logging.DEBUG, logger=logger):
            m.VLog()
            m.VLog(1, prefix="P:")
            m.VLog(2)  # Below DEBUG: filtered out.
        records = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == logger]
        assert records == [
            (logging.INFO, "nmap:  a       1"),
            (logging.INFO, "nmap:  bb.c    x"),
            (logging.DEBUG, "P: a       1"),
            (logging.DEBUG, "P: bb.c    x"),
        ]

    @pytest.mark.parametrize(
        "level, expected",
        [
            (0, logging.INFO),
            (1, logging.DEBUG),
            (3, logging.DEBUG - 2),
            (-1, logging.WARNING),
            (-2, logging.ERROR),
            (-5, logging.CRITICAL),
            (50, 1),
        ],
    )
    def test_vlog_levels(self, caplog, level, expected):
        with caplog.at_level(1, logger="lingvo.params.nested_map"):
            NestedMap(a=1).VLog(level)
        assert [r.levelno for r in caplog.records] == [expected]


# ------------------------------------------------------------------ scale


def _BigMap(n_layers=100):
    m = NestedMap()
    for i in range(n_layers):
        m[f"layer_{i:03d}"] = NestedMap(w=list(range(50)), b=NestedMap(x=list(range(48))))
    return m


def test_ten_thousand_leaves():
    m = _BigMap()
    flat = m.Flatten()
    packed = m.Pack([v + 1 for v in flat])
    items = m.FlattenItems()
    assert len(flat) == 9800
    assert packed.Flatten() == [v + 1 for v in flat]
    assert items[0] == ("layer_000.b.x[0]", 0)
    assert m.IsCompatible(packed)
    assert NestedMap().Update(m) == m


def test_deep_nesting():
    m = NestedMap()
    node = m
    for _ in range(200):
        node.n = NestedMap()
        node = node.n
    node.leaf = [1]
    key = ".".join(["n"] * 200) + ".leaf[0]"
    assert m.Keys() == [key]
    assert m.GetItem(key) == 1
    assert m.DeepCopy() == m
