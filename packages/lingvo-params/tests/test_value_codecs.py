"""Tests of the value-codec registry that teaches Params about foreign value types."""

import fractions

import pytest

from lingvo.params import value_codecs
from lingvo.params.hyperparams import Params


class FractionCodec(value_codecs.ValueCodec):
    """Writes fractions as `3/4`; they are immutable, so copies may share them."""

    type_name = "Fraction"
    share_on_copy = True

    def matches(self, value):
        return isinstance(value, fractions.Fraction)

    def to_text(self, value):
        return f"{value.numerator}/{value.denominator}"

    def from_text(self, text, old_value):
        return fractions.Fraction(text)


class Tensor:
    """A stand-in for a tensor: mutable, but identity matters, so copies must share it."""

    def __init__(self, values):
        self.values = list(values)


class TensorCodec(value_codecs.ValueCodec):
    type_name = "Tensor"
    share_on_copy = True

    def matches(self, value):
        return isinstance(value, Tensor)

    def to_text(self, value):
        return "Tensor"

    def from_text(self, text, old_value):
        raise ValueError("tensors cannot be read from text")


@pytest.fixture
def codecs():
    registered = [value_codecs.register(FractionCodec()), value_codecs.register(TensorCodec())]
    yield registered
    for codec in registered:
        value_codecs.unregister(codec)


def _params():
    p = Params()
    p.Define("ratio", fractions.Fraction(3, 4), "A fraction.")
    p.Define("ratios", [fractions.Fraction(1, 2)], "Fractions in a list.")
    p.Define("tensor", Tensor([1, 2]), "A tensor.")
    p.Define("unset", None, "A value set later.")
    return p


def test_round_trip_through_codec(codecs):
    p = _params()
    text, types = p.ToText(include_types=True)
    assert text == ("ratio : 3/4\nratios : ['1/2']\ntensor : Tensor\nunset : NoneType\n")
    assert types["ratio"] == "Fraction" and types["tensor"] == "Tensor"
    q = _params().Set(ratio=fractions.Fraction(1, 3))
    q.FromText("ratio : 3/4")
    assert q.ratio == fractions.Fraction(3, 4)
    q.FromText("unset : 5/6", type_overrides={"unset": "Fraction"})
    assert q.unset == fractions.Fraction(5, 6)
    with pytest.raises(ValueError, match=r"'tensor' of type Tensor from 'x': tensors cannot"):
        q.FromText("tensor : x")
    with pytest.raises(ValueError, match=r"'ratio' of type Fraction from '1/0'"):
        q.FromText("ratio : 1/0")


def test_copy_shares_codec_values(codecs):
    p = _params()
    q = p.Copy()
    assert q.tensor is p.tensor and q.ratio is p.ratio
    assert q.ratios is not p.ratios and q.ratios[0] is p.ratios[0]


def test_without_codec_values_are_deep_copied_and_unreadable():
    p = _params()
    assert p.Copy().tensor is not p.tensor
    assert "ratio : Fraction\n" in p.ToText()
    with pytest.raises(ValueError, match="'ratio' of type Fraction"):
        p.FromText("ratio : 3/4")


def test_registry(codecs):
    fraction_codec, tensor_codec = codecs
    assert value_codecs.registered() == (fraction_codec, tensor_codec)
    assert value_codecs.find_by_type_name("Fraction") is fraction_codec
    assert value_codecs.find_by_value(Tensor([])) is tensor_codec
    assert value_codecs.find_by_value(1) is None
    with pytest.raises(ValueError, match="already registered"):
        value_codecs.register(FractionCodec())
    replacement = value_codecs.register(FractionCodec(), replace=True)
    assert value_codecs.find_by_type_name("Fraction") is replacement
    assert fraction_codec not in value_codecs.registered()
    value_codecs.unregister(replacement)
    with pytest.raises(ValueError, match="non-empty string type_name"):
        value_codecs.register(value_codecs.ValueCodec())
