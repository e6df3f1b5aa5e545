// Groups samples into batches by bucket key (Lingvo's RecordBatcher without
// its threads: the caller runs the per-record processor and feeds the keys).
//
// A sample goes to the first bucket i with bucket_upper_bound[i] >= key, so
// bucket i holds keys in (bound[i-1], bound[i]]. A negative key or one above
// the last bound drops the sample; drops are counted, never hidden. A bucket
// that reaches bucket_batch_limit[i] samples becomes a batch; with
// flush_every_n > 0, every flush_every_n accepted samples all non-empty
// buckets become (smaller) batches; Flush() empties the buckets at the end of
// the input.
//
// With bucket_adjust_every_n > 0 the bounds learn the key distribution: the
// keys of accepted samples are histogrammed, and whenever
// (accepted + dropped) % bucket_adjust_every_n == 0 (with >= 1 accepted) every
// bound but the last is re-chosen by OptimalBucketBounds and the histogram is
// cleared. Samples already in a bucket stay there.
#ifndef LINGVO_OPS_INPUT_BUCKET_BATCHER_H_
#define LINGVO_OPS_INPUT_BUCKET_BATCHER_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <utility>
#include <vector>

namespace lingvo::ops::input {

// Throws InvalidArgumentError unless the bounds are non-empty and sorted
// ascending, the limits have the same length and are >= 1, and
// flush_every_n >= 0.
void ValidateBucketOptions(const std::vector<int64_t>& bucket_upper_bound,
                           const std::vector<int64_t>& bucket_batch_limit,
                           int64_t flush_every_n, int64_t bucket_adjust_every_n = 0);

// Bounds for `num_buckets` buckets that minimise the padding cost
//   sum over buckets of (samples in the bucket) x (upper - lower),
// where a bucket's lower edge is the previous bound (for the first bucket, one
// below the smallest key). `histogram` holds (key, count) pairs sorted by key,
// keys in [0, last_bound], counts > 0. The keys are first merged into at most
// `max_bins` runs of about equal count (so the work is bounded whatever the key
// range); the bounds are then chosen among the runs' last keys by dynamic
// programming. The last bound is always `last_bound`; empty buckets repeat the
// previous bound. An empty histogram gives num_buckets copies of last_bound.
std::vector<int64_t> OptimalBucketBounds(
    const std::vector<std::pair<int64_t, int64_t>>& histogram, size_t num_buckets,
    int64_t last_bound, size_t max_bins = 500);

// The bucket of `key`, or -1 when the key is negative or above the last bound.
int BucketForKey(const std::vector<int64_t>& bucket_upper_bound, int64_t key);

template <typename Sample>
class BucketBatcher {
 public:
  struct Batch {
    int bucket = 0;
    std::vector<Sample> samples;
    std::vector<int64_t> keys;
  };

  BucketBatcher(std::vector<int64_t> bucket_upper_bound,
                std::vector<int64_t> bucket_batch_limit, int64_t flush_every_n,
                int64_t bucket_adjust_every_n = 0)
      : bounds_(std::move(bucket_upper_bound)),
        limits_(std::move(bucket_batch_limit)),
        flush_every_n_(flush_every_n),
        adjust_every_n_(bucket_adjust_every_n) {
    ValidateBucketOptions(bounds_, limits_, flush_every_n_, adjust_every_n_);
    buckets_.resize(bounds_.size());
  }

  // Adds one sample; completed batches are appended to `*out`. Returns false
  // when the sample was dropped for its key.
  bool Add(int64_t key, Sample sample, std::vector<Batch>* out) {
    const int b = BucketForKey(bounds_, key);
    if (b < 0) {
      ++(key < 0 ? dropped_negative_ : dropped_too_large_);
      MaybeAdjust();
      return false;
    }
    ++accepted_;
    if (adjust_every_n_ > 0) ++histogram_[key];
    Batch& bucket = buckets_[static_cast<size_t>(b)];
    bucket.samples.push_back(std::move(sample));
    bucket.keys.push_back(key);
    if (static_cast<int64_t>(bucket.samples.size()) >= limits_[static_cast<size_t>(b)]) {
      Emit(b, out);
    }
    if (flush_every_n_ > 0 && accepted_ % flush_every_n_ == 0) Flush(out);
    MaybeAdjust();
    return true;
  }

  // Appends every non-empty bucket, in bucket order, to `*out`.
  void Flush(std::vector<Batch>* out) {
    for (size_t b = 0; b < buckets_.size(); ++b) {
      if (!buckets_[b].samples.empty()) Emit(static_cast<int>(b), out);
    }
  }

  int64_t accepted() const { return accepted_; }
  int64_t dropped_negative() const { return dropped_negative_; }
  int64_t dropped_too_large() const { return dropped_too_large_; }
  int64_t dropped() const { return dropped_negative_ + dropped_too_large_; }
  int64_t pending() const {
    int64_t n = 0;
    for (const auto& b : buckets_) n += static_cast<int64_t>(b.samples.size());
    return n;
  }
  const std::vector<int64_t>& bucket_upper_bound() const { return bounds_; }
  const std::vector<int64_t>& bucket_batch_limit() const { return limits_; }
  int64_t flush_every_n() const { return flush_every_n_; }
  int64_t bucket_adjust_every_n() const { return adjust_every_n_; }
  // How many times the bounds were re-chosen.
  int64_t adjustments() const { return adjustments_; }

 private:
  void MaybeAdjust() {
    if (adjust_every_n_ <= 0 || accepted_ == 0 ||
        (accepted_ + dropped()) % adjust_every_n_ != 0) {
      return;
    }
    std::vector<std::pair<int64_t, int64_t>> histogram(histogram_.begin(), histogram_.end());
    std::sort(histogram.begin(), histogram.end());
    histogram_.clear();
    if (histogram.empty()) return;
    bounds_ = OptimalBucketBounds(histogram, bounds_.size(), bounds_.back());
    ++adjustments_;
  }

  void Emit(int b, std::vector<Batch>* out) {
    Batch batch;
    batch.bucket = b;
    std::swap(batch.samples, buckets_[static_cast<size_t>(b)].samples);
    std::swap(batch.keys, buckets_[static_cast<size_t>(b)].keys);
    out->push_back(std::move(batch));
  }

  std::vector<int64_t> bounds_;
  std::vector<int64_t> limits_;
  int64_t flush_every_n_;
  int64_t adjust_every_n_;
  std::unordered_map<int64_t, int64_t> histogram_;
  int64_t adjustments_ = 0;
  std::vector<Batch> buckets_;
  int64_t accepted_ = 0;
  int64_t dropped_negative_ = 0;
  int64_t dropped_too_large_ = 0;
};

}  // namespace lingvo::ops::input

#endif  // LINGVO_OPS_INPUT_BUCKET_BATCHER_H_
