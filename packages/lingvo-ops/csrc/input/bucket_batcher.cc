// Option checks and bucket lookup of the bucketing batcher.
#include "input/bucket_batcher.h"

#include <algorithm>
#include <cstdint>
#include <string>

#include "input/errors.h"

namespace lingvo::ops::input {

void ValidateBucketOptions(const std::vector<int64_t>& bucket_upper_bound,
                           const std::vector<int64_t>& bucket_batch_limit,
                           int64_t flush_every_n) {
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
}

int BucketForKey(const std::vector<int64_t>& bucket_upper_bound, int64_t key) {
  if (key < 0) return -1;
  const auto it = std::lower_bound(bucket_upper_bound.begin(),
                                   bucket_upper_bound.end(), key);
  if (it == bucket_upper_bound.end()) return -1;
  return static_cast<int>(it - bucket_upper_bound.begin());
}

}  // namespace lingvo::ops::input
