"""bucket_adjust_every_n: the batcher learns bucket bounds from the key distribution."""

import itertools

import numpy as np
import pytest

from lingvo.ops import BucketBatcher, _ops, generic_input


def _padding_cost(histogram, bounds):
    """Samples x bucket width summed over buckets; the first lower edge is min key - 1."""
    lower = histogram[0][0] - 1
    cost = 0
    for upper in bounds:
        count = sum(c for k, c in histogram if lower < k <= upper)
        cost += count * (upper - lower)
        lower = upper
    return cost


def _brute_force_cost(histogram, num_buckets, last_bound):
    keys = [k for k, _ in histogram]
    candidates = sorted(set(keys[:-1]) | {last_bound})
    best = None
    for inner in itertools.combinations_with_replacement(candidates, num_buckets - 1):
        cost = _padding_cost(histogram, [*inner, last_bound])
        best = cost if best is None else min(best, cost)
    return best


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("num_buckets", [1, 2, 3, 4])
def test_dp_matches_brute_force(seed, num_buckets):
    rng = np.random.default_rng(seed)
    keys = np.sort(rng.choice(np.arange(0, 40), size=int(rng.integers(1, 12)), replace=False))
    counts = rng.integers(1, 30, size=len(keys))
    histogram = [(int(k), int(c)) for k, c in zip(keys, counts, strict=True)]
    last_bound = int(keys[-1]) + int(rng.integers(0, 5))
    bounds = _ops._optimal_bucket_bounds(histogram, num_buckets, last_bound)
    assert len(bounds) == num_buckets
    assert bounds[-1] == last_bound
    assert bounds == sorted(bounds)
    assert _padding_cost(histogram, bounds) == _brute_force_cost(histogram, num_buckets, last_bound)


def test_dp_on_uniform_histogram_splits_evenly():
    histogram = [(k, 10) for k in range(1, 101)]
    assert _ops._optimal_bucket_bounds(histogram, 4, 100) == [25, 50, 75, 100]


def test_dp_compresses_wide_key_ranges_into_at_most_max_bins():
    histogram = [(k, 1) for k in range(1, 100_001)]
    bounds = _ops._optimal_bucket_bounds(histogram, 4, 100_000, max_bins=500)
    # Run edges fall every 200 keys, so each bound is within one run of the quarter.
    for got, want in zip(bounds, [25_000, 50_000, 75_000, 100_000], strict=True):
        assert abs(got - want) <= 200


def test_dp_with_fewer_keys_than_buckets_repeats_bounds():
    assert _ops._optimal_bucket_bounds([(5, 3)], 3, 9) == [9, 9, 9]
    assert _ops._optimal_bucket_bounds([(2, 3), (7, 1)], 3, 9) in ([2, 2, 9], [2, 9, 9])


def test_reference_expectation_learns_quartiles():
    """Lingvo's LearnBuckets: lengths uniform in 1..100, bounds [100]*4, limits [8]*4, n=550."""
    rng = np.random.default_rng(301)
    batcher = BucketBatcher([100] * 4, [8] * 4, bucket_adjust_every_n=550)
    warm_up = 550 * 4
    for key in rng.integers(1, 101, size=warm_up):
        batcher.add(int(key), int(key))
    assert batcher.adjustments == 4
    batches = []
    while len(batches) < 1000:
        for key in rng.integers(1, 101, size=256):
            batches.extend(batcher.add(int(key), int(key)))
    batches = batches[:1000]
    per_bucket = np.bincount([b.bucket for b in batches], minlength=4)
    assert all(225 <= n <= 275 for n in per_bucket), per_bucket
    for bucket, want in enumerate([25, 50, 75, 100]):
        mean_max = np.mean([max(b.bucket_keys) for b in batches if b.bucket == bucket])
        assert abs(mean_max - want) <= 5, (bucket, mean_max)
    bounds = batcher.bucket_upper_bound
    assert bounds[-1] == 100
    for got, want in zip(bounds, [25, 50, 75, 100], strict=True):
        assert abs(got - want) <= 5, bounds


def test_drops_count_towards_the_adjust_period():
    batcher = BucketBatcher([10, 10], [100, 100], bucket_adjust_every_n=4)
    for key in [2, 4, -1, 50]:  # Two accepted, two dropped: the 4th add adjusts.
        batcher.add(key, key)
    assert batcher.adjustments == 1
    assert batcher.bucket_upper_bound == [2, 10]


def test_no_adjustment_before_the_first_accepted_sample():
    batcher = BucketBatcher([10, 10], [4, 4], bucket_adjust_every_n=2)
    batcher.add(-1, None)
    batcher.add(99, None)
    assert batcher.adjustments == 0
    assert batcher.bucket_upper_bound == [10, 10]


def test_adjust_disabled_keeps_bounds():
    batcher = BucketBatcher([100] * 4, [8] * 4)
    for key in range(1, 1001):
        batcher.add(key % 100 + 1, None)
    assert batcher.bucket_upper_bound == [100] * 4
    assert batcher.adjustments == 0


def test_negative_adjust_period_is_rejected():
    with pytest.raises(ValueError, match="bucket_adjust_every_n must be >= 0, got -1"):
        BucketBatcher([10], [1], bucket_adjust_every_n=-1)


def test_generic_input_passes_the_adjust_period_through():
    batcher = BucketBatcher([100] * 4, [8] * 4, bucket_adjust_every_n=400)
    records = [str(1 + i % 100).encode() for i in range(4000)]
    batches = list(
        generic_input(
            records,
            lambda r: (np.zeros(int(r), np.int32), int(r)),
            bucket_upper_bound=[],
            bucket_batch_limit=[],
            batcher=batcher,
        )
    )
    assert batcher.adjustments == 10
    assert batcher.bucket_upper_bound == [25, 50, 75, 100]
    assert sum(len(b.bucket_keys) for b in batches) == 4000
    late = batches[len(batches) // 2 :]
    assert {b.bucket for b in late} == {0, 1, 2, 3}
    # After the first adjustment each late batch's keys fit its bucket.
    for b in late:
        assert b.values.shape[1] <= [25, 50, 75, 100][b.bucket]


def test_generic_input_accepts_bucket_adjust_every_n():
    records = [str(1 + i % 100).encode() for i in range(2000)]
    batches = list(
        generic_input(
            records,
            lambda r: (np.int32(int(r)), int(r)),
            bucket_upper_bound=[100] * 4,
            bucket_batch_limit=[8] * 4,
            bucket_adjust_every_n=400,
        )
    )
    assert {b.bucket for b in batches} == {0, 1, 2, 3}
    assert sorted(np.concatenate([b.values for b in batches]).tolist()) == sorted(
        1 + i % 100 for i in range(2000)
    )
