"""Tests that the installed lingvo-mt wheel is consistent and discoverable."""

from lingvo.core import testing


def test_distribution_is_consistent_and_registers_its_family():
    assert testing.distribution_problems("lingvo-mt", "lingvo.tasks.mt", entry_point="mt") == []
