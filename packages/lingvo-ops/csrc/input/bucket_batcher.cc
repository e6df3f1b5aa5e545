// Option checks and bucket lookup of the bucketing batcher.
#include "input/bucket_batcher.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>

#include "input/errors.h"

namespace lingvo::ops::input {

void ValidateBucketOptions(const std::vector<int64_t>& bucket_upper_bound,
                           const std::vector<int64_t>& bucket_batch_limit,
                           int64_t flush_every_n, int64_t bucket_adjust_every_n) {
  if (bucket_upper_bound.empty()) {
    throw InvalidArgumentError("bucket_upper_bound must not be empty");
  }
  if (!std::is_sorted(bucket_upper_bound.begin(), bucket_upper_bound.end())) {
    throw InvalidArgumentError("Bucket_upper_bound is not sorted");
  }
  // Bucket keys come back as int32, like Lingvo's bucket_keys output.
  if (bucket_upper_bound.back() > INT32_MAX) {
    throw InvalidArgumentError("bucket_upper_bound entries must fit in int32, got " +
                               std::to_string(bucket_upper_bound.back()));
  }
  if (bucket_batch_limit.size() != bucket_upper_bound.size()) {
    throw InvalidArgumentError(
        "bucket_batch_limit must have one entry per bucket: " +
        std::to_string(bucket_upper_bound.size()) + " bounds, " +
        std::to_string(bucket_batch_limit.size()) + " limits");
  }
  for (size_t i = 0; i < bucket_batch_limit.size(); ++i) {
    if (bucket_batch_limit[i] < 1) {
      throw InvalidArgumentError("bucket_batch_limit[" + std::to_string(i) +
                                 "] must be >= 1, got " +
                                 std::to_string(bucket_batch_limit[i]));
    }
  }
  if (flush_every_n < 0) {
    throw InvalidArgumentError("flush_every_n must be >= 0, got " +
                               std::to_string(flush_every_n));
  }
  if (bucket_adjust_every_n < 0) {
    throw InvalidArgumentError("bucket_adjust_every_n must be >= 0, got " +
                               std::to_string(bucket_adjust_every_n));
  }
}

std::vector<int64_t> OptimalBucketBounds(
    const std::vector<std::pair<int64_t, int64_t>>& histogram, size_t num_buckets,
    int64_t last_bound, size_t max_bins) {
  if (num_buckets == 0) return {};
  if (histogram.empty() || max_bins == 0) return std::vector<int64_t>(num_buckets, last_bound);
  // Merge the keys into runs of about total/max_bins samples each. Every
  // closed run holds >= target >= total/max_bins, so there are <= max_bins.
  int64_t total = 0;
  for (const auto& [key, count] : histogram) total += count;
  const int64_t bins_n = static_cast<int64_t>(max_bins);
  const int64_t target = (total + bins_n - 1) / bins_n;
  std::vector<int64_t> edge;       // Last key of each run.
  std::vector<double> cumulative;  // Samples in runs 0..i.
  int64_t in_run = 0;
  double so_far = 0;
  for (size_t i = 0; i < histogram.size(); ++i) {
    in_run += histogram[i].second;
    if (in_run >= target || i + 1 == histogram.size()) {
      so_far += static_cast<double>(in_run);
      edge.push_back(histogram[i].first);
      cumulative.push_back(so_far);
      in_run = 0;
    }
  }
  // The last bucket always ends at the last bound.
  edge.back() = last_bound;
  const double lowest = static_cast<double>(histogram.front().first - 1);
  const size_t n = edge.size();
  // cost[k][j]: least cost of buckets 0..k covering runs 0..j, bucket k ending
  // at edge[j]; from[k][j]: the run bucket k-1 ends at (j itself when bucket k
  // is empty).
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<std::vector<double>> cost(num_buckets, std::vector<double>(n, inf));
  std::vector<std::vector<size_t>> from(num_buckets, std::vector<size_t>(n, 0));
  for (size_t j = 0; j < n; ++j) {
    cost[0][j] = cumulative[j] * (static_cast<double>(edge[j]) - lowest);
  }
  for (size_t k = 1; k < num_buckets; ++k) {
    for (size_t j = 0; j < n; ++j) {
      double best = cost[k - 1][j];  // Bucket k empty.
      size_t best_i = j;
      const double e = static_cast<double>(edge[j]);
      for (size_t i = 0; i < j; ++i) {
        const double c = cost[k - 1][i] +
                         (cumulative[j] - cumulative[i]) * (e - static_cast<double>(edge[i]));
        if (c < best) {
          best = c;
          best_i = i;
        }
      }
      cost[k][j] = best;
      from[k][j] = best_i;
    }
  }
  std::vector<int64_t> bounds(num_buckets);
  size_t j = n - 1;
  for (size_t k = num_buckets; k-- > 0;) {
    bounds[k] = edge[j];
    if (k > 0) j = from[k][j];
  }
  return bounds;
}

int BucketForKey(const std::vector<int64_t>& bucket_upper_bound, int64_t key) {
  if (key < 0) return -1;
  const auto it = std::lower_bound(bucket_upper_bound.begin(),
                                   bucket_upper_bound.end(), key);
  if (it == bucket_upper_bound.end()) return -1;
  return static_cast<int>(it - bucket_upper_bound.begin());
}

}  // namespace lingvo::ops::input
