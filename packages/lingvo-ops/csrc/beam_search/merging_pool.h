// The per-beam candidate pool of beam_search_step with Lingvo's path
// merging (spec section 2.4 D), and the candidate ranking it shares with the
// step.
//
// Plain C++17: no Python, no pybind11 and no TensorFlow.
#ifndef LINGVO_OPS_BEAM_SEARCH_MERGING_POOL_H_
#define LINGVO_OPS_BEAM_SEARCH_MERGING_POOL_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace lingvo::ops::beam_search {

// One extension of a hyp by one word.
struct Candidate {
  int32_t word;
  int32_t slot;  // the source slot it extends
  float local;
  float global;
};

// Lingvo's ranking: larger global score, then smaller word id, then smaller
// source slot. The tie-breaks make every selection deterministic.
inline bool Higher(const Candidate& x, const Candidate& y) {
  if (x.global != y.global) return x.global > y.global;
  if (x.word != y.word) return x.word < y.word;
  return x.slot < y.slot;
}

inline float LogSumExp(float a, float b) {
  const float m = std::max(a, b);
  return m + std::log(std::exp(a - m) + std::exp(b - m));
}

// Per-beam pool with Lingvo's path merging: a bounded buffer that is cut to
// the best k when it fills up, after which only candidates better than the
// k-th are admitted; a candidate equal (up to epsilons) to one still in the
// buffer is merged into it. Reproducing the buffer, and not an exact top-k,
// is what keeps merged scores identical to Lingvo's. `prefixes[slot]` is the
// epsilon-free label prefix of the hyp in that slot; a negative epsilon turns
// merging off (a bounded top-k only).
class MergingPool {
 public:
  MergingPool(int k, int limit, int32_t epsilon,
              const std::vector<std::vector<int32_t>>* prefixes)
      : k_(k), limit_(std::max(limit, k)), epsilon_(epsilon),
        prefixes_(prefixes) {}

  void Add(const Candidate& c) {
    if (selected_ && !Higher(c, items_[k_ - 1])) return;
    for (Candidate& old : items_) {
      if (epsilon_ >= 0 && IsDuplicate(c, old)) {
        Candidate merged = Higher(c, old) ? c : old;
        merged.global = LogSumExp(c.global, old.global);
        old = merged;
        return;
      }
    }
    items_.push_back(c);
    if (static_cast<int>(items_.size()) >= limit_) Shrink();
  }

  // The global score a candidate must beat to get in (Lingvo's TopK::Add
  // result): the lowest float until the buffer was first cut.
  float Bottom() const {
    return selected_ ? items_[k_ - 1].global : std::numeric_limits<float>::lowest();
  }

  std::vector<Candidate>& Sorted() {
    if (static_cast<int>(items_.size()) > k_) Shrink();
    std::sort(items_.begin(), items_.end(), Higher);
    return items_;
  }

 private:
  void Shrink() {
    std::nth_element(items_.begin(), items_.begin() + (k_ - 1), items_.end(),
                     Higher);
    items_.resize(k_);
    selected_ = true;
  }

  // Whether x and y spell the same label sequence once epsilons are dropped
  // (prefixes hold no epsilons).
  bool IsDuplicate(const Candidate& x, const Candidate& y) const {
    const auto& px = (*prefixes_)[x.slot];
    const auto& py = (*prefixes_)[y.slot];
    if (x.word == y.word) return px == py;
    if (x.word == epsilon_) return ExtendsBy(px, py, y.word);
    if (y.word == epsilon_) return ExtendsBy(py, px, x.word);
    return false;
  }

  // longer == shorter + [word].
  static bool ExtendsBy(const std::vector<int32_t>& longer,
                        const std::vector<int32_t>& shorter, int32_t word) {
    return longer.size() == shorter.size() + 1 && longer.back() == word &&
           std::equal(shorter.begin(), shorter.end(), longer.begin());
  }

  int k_;
  int limit_;
  int32_t epsilon_;
  const std::vector<std::vector<int32_t>>* prefixes_;
  bool selected_ = false;
  std::vector<Candidate> items_;
};

}  // namespace lingvo::ops::beam_search

#endif  // LINGVO_OPS_BEAM_SEARCH_MERGING_POOL_H_
