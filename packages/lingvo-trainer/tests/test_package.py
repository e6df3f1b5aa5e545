"""Tests that the installed lingvo-trainer wheel is consistent and discoverable."""

from lingvo.core import testing


def test_distribution_is_consistent():
    assert testing.distribution_problems("lingvo-trainer", "lingvo.trainer") == []


def test_image_family_entry_point_is_declared_and_imports():
    problems = testing.distribution_problems(
        "lingvo-trainer", "lingvo.tasks.image", entry_point="image", versioned=False
    )
    assert problems == []
