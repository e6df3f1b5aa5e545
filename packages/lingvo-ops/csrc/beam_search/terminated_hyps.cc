#include "beam_search/terminated_hyps.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "beam_search/beam_search_step.h"

namespace lingvo::ops::beam_search {
namespace {

// Slots of the hyp terminated at (step, slot): path[r] is its slot at step
// r < step, following back-pointers from `slot` at step - 1.
void ChainSlots(const int32_t* prev_hyps, int64_t num_hyps, int64_t step,
                int64_t slot, const char* prev_name,
                std::vector<int64_t>* path) {
  path->assign(static_cast<size_t>(step), 0);
  int64_t cur = slot;
  for (int64_t r = step - 1; r >= 0; --r) {
    (*path)[r] = cur;
    if (r == 0) break;
    const int32_t prev = prev_hyps[r * num_hyps + cur];
    if (prev < 0 || prev >= num_hyps) {
      throw InvalidInput(std::string(prev_name) + "[" + std::to_string(r) +
                         ", " + std::to_string(cur) + "] = " +
                         std::to_string(prev) + " is not a slot in [0, " +
                         std::to_string(num_hyps) + ")");
    }
    cur = prev;
  }
}

struct DoneEntry {
  float normalized;
  int32_t step;
  int32_t slot;
};

bool Better(const DoneEntry& x, const DoneEntry& y) {
  if (x.normalized != y.normalized) return x.normalized > y.normalized;
  if (x.step != y.step) return x.step < y.step;
  return x.slot < y.slot;
}

HypBatch EmptyBatch(int64_t rows, int64_t max_len, int64_t src_len) {
  HypBatch out;
  out.num_rows = rows;
  out.max_len = max_len;
  out.src_len = src_len;
  out.ids.assign(rows * max_len, 0);
  out.lens.assign(rows, 0);
  out.scores.assign(rows * max_len, 0.0f);
  out.atten_probs.assign(rows * max_len * src_len, 0.0f);
  return out;
}

}  // namespace

HypBatch TopKTerminatedHyps(const SearchHistory& h,
                            const int32_t* src_seq_lengths,
                            const TopKOptions& o) {
  if (o.num_hyps_per_beam <= 0 || h.num_hyps % o.num_hyps_per_beam != 0) {
    throw InvalidInput("done_hyps.shape[1] = " + std::to_string(h.num_hyps) +
                       " must be a multiple of num_hyps_per_beam = " +
                       std::to_string(o.num_hyps_per_beam));
  }
  if (o.k <= 0) throw InvalidInput("k must be positive, got " + std::to_string(o.k));
  if (o.length_normalization < 0 || o.coverage_penalty < 0) {
    throw InvalidInput("length_normalization and coverage_penalty must be >= 0");
  }
  const int64_t T = h.max_steps;
  const int64_t N = h.num_hyps;
  const int64_t S = h.atten_probs != nullptr ? h.src_len : 0;
  const int64_t B = N / o.num_hyps_per_beam;
  const double alpha = o.length_normalization;
  const float rb = o.target_seq_length_ratio * o.coverage_penalty;

  std::vector<std::vector<DoneEntry>> pools(B);
  std::vector<int64_t> path;
  std::vector<float> coverage;
  for (int64_t step = 0; step < T; ++step) {
    for (int64_t slot = 0; slot < N; ++slot) {
      const int64_t at = step * N + slot;
      if (h.done_hyps[at] < 0) continue;
      const int64_t beam = slot % B;
      ChainSlots(h.prev_hyps, N, step, slot, "prev_hyps", &path);
      // Lingvo sums the proto's float scores in order, step 0 first.
      float total = 0.0f;
      if (o.merge_paths) {
        const float avg = h.done_cumulative_scores[at] / static_cast<float>(step + 1);
        for (int64_t r = 0; r <= step; ++r) total += avg;
      } else {
        for (int64_t r = 0; r < step; ++r) total += h.scores[r * N + path[r]];
        total += h.done_scores[at];
      }
      const int64_t length = step + 1;
      const float length_norm = static_cast<float>(
          std::pow(length + 5.0, alpha) / std::pow(5.0, alpha));
      float normalized = total / length_norm;
      if (o.coverage_penalty != 0.0f) {
        const int64_t n = std::max<int64_t>(0, src_seq_lengths[beam]);
        coverage.assign(n, 0.0f);
        // Positions past S have no probability: they count as 0.
        const int64_t covered = std::min(n, S);
        for (int64_t r = 0; covered > 0 && r <= step; ++r) {
          const float* vec = r < step ? h.atten_probs + (r * N + path[r]) * S
                                      : h.done_atten_probs + at * S;
          for (int64_t p = 0; p < covered; ++p) coverage[p] += vec[p];
        }
        float penalty = 0.0f;
        for (int64_t p = 0; p < n; ++p) {
          const float c = coverage[p] / o.target_seq_length_ratio;
          penalty += std::log(std::min(std::max(c, 0.001f), 0.5f));
        }
        normalized += rb * penalty;
      }
      pools[beam].push_back(
          DoneEntry{normalized, static_cast<int32_t>(step), static_cast<int32_t>(slot)});
    }
  }

  HypBatch out = EmptyBatch(B * o.k, T, S);
  out.normalized.assign(B * o.k, 0.0f);
  for (int64_t b = 0; b < B; ++b) {
    auto& pool = pools[b];
    const int64_t n = std::min<int64_t>(o.k, static_cast<int64_t>(pool.size()));
    std::partial_sort(pool.begin(), pool.begin() + n, pool.end(), Better);
    for (int64_t j = 0; j < n; ++j) {
      const DoneEntry& e = pool[j];
      const int64_t row = b * o.k + j;
      const int64_t at = static_cast<int64_t>(e.step) * N + e.slot;
      ChainSlots(h.prev_hyps, N, e.step, e.slot, "prev_hyps", &path);
      int32_t* ids = out.ids.data() + row * T;
      float* scores = out.scores.data() + row * T;
      const float avg = h.done_cumulative_scores[at] / static_cast<float>(e.step + 1);
      for (int64_t r = 0; r < e.step; ++r) {
        ids[r] = h.hyps[r * N + path[r]];
        scores[r] = o.merge_paths ? avg : h.scores[r * N + path[r]];
        if (S > 0) {
          std::memcpy(out.atten_probs.data() + (row * T + r) * S,
                      h.atten_probs + (r * N + path[r]) * S, sizeof(float) * S);
        }
      }
      ids[e.step] = h.done_hyps[at];
      scores[e.step] = o.merge_paths ? avg : h.done_scores[at];
      if (S > 0) {
        std::memcpy(out.atten_probs.data() + (row * T + e.step) * S,
                    h.done_atten_probs + at * S, sizeof(float) * S);
      }
      out.lens[row] = e.step + 1;
      out.normalized[row] = e.normalized;
    }
  }
  return out;
}

UnpackedHyps UnpackHyp(int64_t num_rows, int64_t max_len, const int32_t* ids,
                       const int32_t* lens, const float* normalized,
                       int64_t max_seq_length) {
  int64_t width = max_seq_length;
  if (width <= 0) {
    width = 0;
    for (int64_t r = 0; r < num_rows; ++r) {
      width = std::max<int64_t>(width, std::min<int64_t>(lens[r], max_len));
    }
  }
  UnpackedHyps out;
  out.num_rows = num_rows;
  out.max_len = width;
  out.ids.assign(num_rows * width, 0);
  out.lens.assign(num_rows, 0);
  out.scores.assign(num_rows, 0.0f);
  for (int64_t r = 0; r < num_rows; ++r) {
    const int64_t len = std::min<int64_t>(std::min<int64_t>(lens[r], max_len), width);
    if (lens[r] <= 0) continue;
    std::copy(ids + r * max_len, ids + r * max_len + len, out.ids.data() + r * width);
    out.lens[r] = static_cast<int32_t>(len);
    out.scores[r] = normalized[r];
  }
  return out;
}

HypBatch HypsFromBeamSearchOuts(const BeamSearchOuts& o, int32_t eos_id) {
  const int64_t T = o.max_steps;
  const int64_t N = o.num_hyps;
  const int64_t S = o.src_len;
  HypBatch out = EmptyBatch(T * N, T, S);
  std::vector<int64_t> path;
  for (int64_t step = 0; step < T; ++step) {
    for (int64_t slot = 0; slot < N; ++slot) {
      const int64_t at = step * N + slot;
      if (!o.done_hyps[at]) continue;
      ChainSlots(o.prev_hyps, N, step, slot, "prev_hyps", &path);
      int32_t* ids = out.ids.data() + at * T;
      float* scores = out.scores.data() + at * T;
      float* atten = out.atten_probs.data() + at * T * S;
      for (int64_t r = 0; r < step; ++r) {
        ids[r] = o.hyps[r * N + path[r]];
        scores[r] = o.scores[r * N + path[r]];
        if (S > 0) {
          std::memcpy(atten + r * S, o.atten_probs + (r * N + path[r]) * S,
                      sizeof(float) * S);
        }
      }
      ids[step] = eos_id;
      scores[step] = o.eos_scores[at];
      if (S > 0) {
        std::memcpy(atten + step * S, o.eos_atten_probs + at * S, sizeof(float) * S);
      }
      out.lens[at] = static_cast<int32_t>(step + 1);
    }
  }
  return out;
}

TopKFromOuts TopKFromBeamSearchOuts(const BeamSearchOuts& o,
                                    const float* cumulative_scores,
                                    const float* cumulative_atten_probs,
                                    const TopKFromOutsOptions& opt) {
  const int64_t T = o.max_steps;
  const int64_t N = o.num_hyps;
  const int64_t S = o.src_len;
  const int64_t K = opt.num_hyps_per_beam;
  const int64_t L = opt.max_seq_length;
  if (K <= 0 || N % K != 0) {
    throw InvalidInput("hyps.shape[1] = " + std::to_string(N) +
                       " must be a multiple of num_hyps_per_beam = " +
                       std::to_string(K));
  }
  if (L <= 0) {
    throw InvalidInput("max_seq_length must be positive, got " + std::to_string(L));
  }
  if (!(opt.length_normalization >= 0.0f) || !(opt.coverage_penalty >= 0.0f)) {
    throw InvalidInput(
        "length_normalization and coverage_penalty must be >= 0, got " +
        std::to_string(opt.length_normalization) + " and " +
        std::to_string(opt.coverage_penalty));
  }
  const bool coverage = opt.coverage_penalty > 0.0f;
  if (coverage && S > 0 && cumulative_atten_probs == nullptr) {
    throw InvalidInput("coverage_penalty > 0 needs cumulative_atten_probs");
  }
  const int64_t B = N / K;
  const double alpha = opt.length_normalization;
  const float r = opt.target_seq_length_ratio;
  const float rb = r * opt.coverage_penalty;

  // Back-pointers must stay within their beam: the chains of one beam's hyps
  // are what its n-best is made of.
  for (int64_t t = 1; t < T; ++t) {
    for (int64_t n = 0; n < N; ++n) {
      const int32_t prev = o.prev_hyps[t * N + n];
      if (prev < 0 || prev >= N || prev % B != n % B) {
        throw InvalidInput("prev_hyps[" + std::to_string(t) + ", " +
                           std::to_string(n) + "] = " + std::to_string(prev) +
                           " is not a slot of beam " + std::to_string(n % B) +
                           " (slots b, b + B, ... below N = " +
                           std::to_string(N) + ")");
      }
    }
  }

  std::vector<std::vector<DoneEntry>> pools(B);
  for (int64_t t = 0; t < T; ++t) {
    const double length_norm = std::pow((t + 1 + 5) / 5.0, alpha);
    for (int64_t n = 0; n < N; ++n) {
      const int64_t at = t * N + n;
      if (!o.done_hyps[at]) continue;
      float score = o.eos_scores[at];
      if (t > 0) score += cumulative_scores[at - N];
      float normalized = score / static_cast<float>(length_norm);
      if (coverage) {
        float penalty = 0.0f;
        const float* c = cumulative_atten_probs + at * S;
        for (int64_t p = 0; p < S; ++p) {
          penalty += std::log(std::min(std::max(c[p] / r, 0.001f), 0.5f));
        }
        normalized += rb * penalty;
      }
      pools[n % B].push_back(DoneEntry{normalized, static_cast<int32_t>(t),
                                       static_cast<int32_t>(n)});
    }
  }

  TopKFromOuts out;
  out.top.num_rows = N;
  out.top.max_len = L;
  out.top.ids.assign(N * L, 0);
  out.top.lens.assign(N, 0);
  out.top.scores.assign(N, 0.0f);
  if (opt.populate_topk_hyps) {
    out.hyps = EmptyBatch(N, T, S);
    out.hyps.normalized.assign(N, 0.0f);
  }
  std::vector<int64_t> path;
  for (int64_t b = 0; b < B; ++b) {
    auto& pool = pools[b];
    const int64_t kept = std::min<int64_t>(K, static_cast<int64_t>(pool.size()));
    std::partial_sort(pool.begin(), pool.begin() + kept, pool.end(), Better);
    for (int64_t j = 0; j < kept; ++j) {
      const DoneEntry& e = pool[j];
      const int64_t row = b * K + j;
      const int64_t step = e.step;
      const int64_t at = step * N + e.slot;
      ChainSlots(o.prev_hyps, N, step, e.slot, "prev_hyps", &path);
      // Lingvo wrote the tokens of a hyp longer than max_seq_length past the
      // end of its row, into the next rows; here they are cut.
      int32_t* ids = out.top.ids.data() + row * L;
      for (int64_t s = 0; s < std::min(step, L); ++s) {
        ids[s] = o.hyps[s * N + path[s]];
      }
      if (step < L) ids[step] = opt.eos_id;
      out.top.lens[row] = static_cast<int32_t>(step + 1);
      out.top.scores[row] = e.normalized;
      if (!opt.populate_topk_hyps) continue;
      int32_t* hyp_ids = out.hyps.ids.data() + row * T;
      float* hyp_scores = out.hyps.scores.data() + row * T;
      float* atten = out.hyps.atten_probs.data() + row * T * S;
      for (int64_t s = 0; s < step; ++s) {
        hyp_ids[s] = o.hyps[s * N + path[s]];
        hyp_scores[s] = o.scores[s * N + path[s]];
        if (S > 0) {
          std::memcpy(atten + s * S, o.atten_probs + (s * N + path[s]) * S,
                      sizeof(float) * S);
        }
      }
      hyp_ids[step] = opt.eos_id;
      hyp_scores[step] = o.eos_scores[at];
      if (S > 0) {
        std::memcpy(atten + step * S, o.eos_atten_probs + at * S, sizeof(float) * S);
      }
      out.hyps.lens[row] = static_cast<int32_t>(step + 1);
      out.hyps.normalized[row] = e.normalized;
    }
  }
  return out;
}

}  // namespace lingvo::ops::beam_search
