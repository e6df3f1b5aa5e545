"""Tests that the installed lingvo-lm wheel is consistent and discoverable."""

from lingvo.core import testing


def test_distribution_is_consistent_and_registers_its_family():
    assert testing.distribution_problems("lingvo-lm", "lingvo.tasks.lm", entry_point="lm") == []
