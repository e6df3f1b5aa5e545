#include "beam_search/beam_search_step.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "beam_search/merging_pool.h"

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#include <immintrin.h>
#define LINGVO_OPS_X86_SIMD 1
#endif

namespace lingvo::ops::beam_search {
namespace {

// The scan over the vocabulary is almost all of a step's time, and almost
// every block of scores holds nothing better than the current m-th best.
// These find the next block of kBlock scores whose global score (cum + x,
// the same float add as the exact test) may beat `threshold`; NaN never
// does. The AVX2 variant is picked at run time, so the wheel keeps the
// x86-64 baseline.
constexpr int64_t kBlock = 32;

[[maybe_unused]] int64_t NextBlockScalar(const float* row, int64_t w, int64_t limit,
                                         float cum,
                        float threshold) {
  for (; w < limit; w += kBlock) {
    int any = 0;
    for (int64_t j = 0; j < kBlock; ++j) any |= (cum + row[w + j] > threshold);
    if (any) return w;
  }
  return limit;
}

#ifdef LINGVO_OPS_X86_SIMD
int64_t NextBlockSse2(const float* row, int64_t w, int64_t limit, float cum,
                      float threshold) {
  const __m128 c = _mm_set1_ps(cum);
  const __m128 t = _mm_set1_ps(threshold);
  for (; w < limit; w += kBlock) {
    __m128 hit = _mm_setzero_ps();
    for (int64_t j = 0; j < kBlock; j += 4) {
      hit = _mm_or_ps(hit, _mm_cmpgt_ps(_mm_add_ps(_mm_loadu_ps(row + w + j), c), t));
    }
    if (_mm_movemask_ps(hit)) return w;
  }
  return limit;
}

__attribute__((target("avx2"))) int64_t NextBlockAvx2(const float* row, int64_t w,
                                                      int64_t limit, float cum,
                                                      float threshold) {
  const __m256 c = _mm256_set1_ps(cum);
  const __m256 t = _mm256_set1_ps(threshold);
  for (; w < limit; w += kBlock) {
    const __m256 a = _mm256_add_ps(_mm256_loadu_ps(row + w), c);
    const __m256 b = _mm256_add_ps(_mm256_loadu_ps(row + w + 8), c);
    const __m256 d = _mm256_add_ps(_mm256_loadu_ps(row + w + 16), c);
    const __m256 e = _mm256_add_ps(_mm256_loadu_ps(row + w + 24), c);
    const __m256 hit = _mm256_or_ps(
        _mm256_or_ps(_mm256_cmp_ps(a, t, _CMP_GT_OQ), _mm256_cmp_ps(b, t, _CMP_GT_OQ)),
        _mm256_or_ps(_mm256_cmp_ps(d, t, _CMP_GT_OQ), _mm256_cmp_ps(e, t, _CMP_GT_OQ)));
    if (_mm256_movemask_ps(hit)) return w;
  }
  return limit;
}
#endif

using NextBlockFn = int64_t (*)(const float*, int64_t, int64_t, float, float);

NextBlockFn PickNextBlock() {
#ifdef LINGVO_OPS_X86_SIMD
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) return NextBlockAvx2;
  return NextBlockSse2;
#else
  return NextBlockScalar;
#endif
}

const NextBlockFn kNextBlock = PickNextBlock();

// The best `m` extensions of one hyp, sorted by Higher, in `out` (capacity m);
// returns how many there are (fewer than m only when V < m or scores are
// NaN). Words are scanned in increasing order, so a later word with an equal
// global score always ranks lower: "strictly greater than the m-th" is the
// exact admission test, and a vectorisable any-greater test over a block lets
// the scan skip almost every block after the first few.
int SelectCandidates(const float* row, int64_t vocab, float cum, int m,
                     int32_t slot, Candidate* out) {
  int count = 0;
  auto insert = [&](int32_t word, float local, float global) {
    int pos = count < m ? count++ : m - 1;
    while (pos > 0 && out[pos - 1].global < global) {
      out[pos] = out[pos - 1];
      --pos;
    }
    out[pos] = Candidate{word, slot, local, global};
  };
  int64_t w = 0;
  for (; w < vocab && count < m; ++w) {
    const float global = cum + row[w];
    if (global == global) insert(static_cast<int32_t>(w), row[w], global);
  }
  if (count < m) return count;
  float threshold = out[m - 1].global;
  const int64_t limit = w + (vocab - w) / kBlock * kBlock;
  for (;;) {
    w = kNextBlock(row, w, limit, cum, threshold);
    if (w >= limit) break;
    const float* block = row + w;
    for (int64_t j = 0; j < kBlock; ++j) {
      const float global = cum + block[j];
      if (global > threshold) {
        insert(static_cast<int32_t>(w + j), block[j], global);
        threshold = out[m - 1].global;
      }
    }
    w += kBlock;
  }
  for (; w < vocab; ++w) {
    const float global = cum + row[w];
    if (global > threshold) {
      insert(static_cast<int32_t>(w), row[w], global);
      threshold = out[m - 1].global;
    }
  }
  return count;
}

void CheckOptions(const BeamSearchDims& d, const BeamSearchStepOptions& o) {
  auto fail = [](const std::string& what) { throw InvalidInput(what); };
  if (o.num_hyps_per_beam <= 0) {
    fail("num_hyps_per_beam must be positive, got " +
         std::to_string(o.num_hyps_per_beam));
  }
  if (d.num_beams <= 0 || d.num_hyps != d.num_beams * o.num_hyps_per_beam) {
    fail("scores must have num_beams * num_hyps_per_beam = " +
         std::to_string(d.num_beams) + " * " +
         std::to_string(o.num_hyps_per_beam) + " rows, got " +
         std::to_string(d.num_hyps));
  }
  if (o.eos_id < 0 || o.eos_id >= d.vocab) {
    fail("eos_id must be in [0, vocab) = [0, " + std::to_string(d.vocab) +
         ") (scores.shape[1]), got " + std::to_string(o.eos_id));
  }
  if (o.eoc_id >= d.vocab) {
    fail("eoc_id must be -1 or in [0, vocab) = [0, " +
         std::to_string(d.vocab) + "), got " + std::to_string(o.eoc_id));
  }
  if (o.merge_paths && o.eoc_id < 0) {
    fail("Paths can only be merged for an epsilon-emitting model (RNN-T or "
         "NT): merge_paths needs eoc_id >= 0, got " +
         std::to_string(o.eoc_id));
  }
  // Lingvo's kernel checks this whether or not paths are merged.
  if (o.merged_topk_buffer_size_factor < 2) {
    fail("merged_topk_buffer_size_factor must be > 1, got " +
         std::to_string(o.merged_topk_buffer_size_factor));
  }
  if (d.cur_step < 0 || d.cur_step >= d.max_steps) {
    fail("cur_step must be in [0, T) = [0, " + std::to_string(d.max_steps) +
         "), T being in_hyps.shape[0]; got " + std::to_string(d.cur_step));
  }
}

// Label prefix (epsilons dropped) of the hyp in slot `slot` before step t.
void LabelPrefix(const BeamSearchDims& d, const BeamSearchState& s,
                 int32_t eoc_id, int64_t slot, std::vector<int32_t>* out) {
  out->clear();
  const int64_t n = d.num_hyps;
  int64_t cur = slot;
  for (int64_t step = d.cur_step - 1; step >= 0; --step) {
    const int32_t word = s.hyps[step * n + cur];
    if (word != eoc_id) out->push_back(word);
    const int32_t prev = s.prev_hyps[step * n + cur];
    if (step > 0 && (prev < 0 || prev >= n)) {
      throw InvalidInput("in_prev_hyps[" + std::to_string(step) + ", " +
                         std::to_string(cur) + "] = " + std::to_string(prev) +
                         " is not a slot in [0, " + std::to_string(n) + ")");
    }
    cur = prev;
  }
  std::reverse(out->begin(), out->end());
}

}  // namespace

bool BeamSearchStep(const BeamSearchDims& d, const BeamSearchStepInputs& in,
                    const BeamSearchStepOptions& o, BeamSearchState& s) {
  CheckOptions(d, o);
  const int64_t B = d.num_beams;
  const int64_t N = d.num_hyps;
  const int64_t V = d.vocab;
  const int64_t S = d.src_len;
  const int64_t t = d.cur_step;
  const int K = o.num_hyps_per_beam;
  const bool use_eoc = o.eoc_id >= 0;
  const int m = K + 1 + (use_eoc ? 1 : 0);
  const bool last_decoder_step = o.force_eos_in_last_step && t == d.max_steps - 1;

  std::vector<char> skip_beam(B, 0);
  if (o.beam_independence) {
    for (int64_t b = 0; b < B; ++b) skip_beam[b] = s.beam_done[b] != 0;
  }

  // Prefixes matter only to path merging and the empty-hyp test.
  std::vector<std::vector<int32_t>> prefixes;
  if (use_eoc) {
    prefixes.resize(N);
    for (int64_t i = 0; i < N; ++i) LabelPrefix(d, s, o.eoc_id, i, &prefixes[i]);
  }

  const int limit = K * o.merged_topk_buffer_size_factor;
  std::vector<std::vector<Candidate>> plain_pools;
  std::vector<MergingPool> merging_pools;
  if (o.merge_paths) {
    merging_pools.reserve(B);
    for (int64_t b = 0; b < B; ++b) {
      merging_pools.emplace_back(K, limit, o.eoc_id, &prefixes);
    }
  } else {
    plain_pools.resize(B);
    for (auto& pool : plain_pools) pool.reserve(static_cast<size_t>(K) * m);
  }

  std::vector<Candidate> terminal(N);
  std::vector<int32_t> terminal_symbol(N, -1);
  std::vector<Candidate> entries(m);
  for (int64_t i = 0; i < N; ++i) {
    const int64_t b = i % B;
    // At step 0 the K hyps of a beam are identical copies: expand one.
    if ((t == 0 && i >= B) || skip_beam[b]) continue;
    const float* row = in.scores + i * V;
    const float cum = s.cumulative_scores[i];
    const int32_t slot = static_cast<int32_t>(i);
    int count = SelectCandidates(row, V, cum, m, slot, entries.data());
    if (count == 0) {
      throw InvalidInput(
          "scores row " + std::to_string(i) +
          " has no finite candidate: No entries in TopK. This typically "
          "happens if the model is producing NaNs in the output.");
    }
    auto has_word = [&](int32_t word) {
      for (int c = 0; c < count; ++c) {
        if (entries[c].word == word) return true;
      }
      return false;
    };
    const Candidate eos{o.eos_id, slot, row[o.eos_id], cum + row[o.eos_id]};
    if (last_decoder_step && !has_word(o.eos_id)) {
      // Lingvo ranks eos above everything at the last step: it displaces
      // the worst candidate and the list is re-sorted.
      if (count == m) --count;
      entries[count++] = eos;
      std::sort(entries.begin(), entries.begin() + count, Higher);
    }
    if (o.force_eos_in_top_k && !has_word(o.eos_id)) {
      entries[count - 1] = eos;  // appended last, not re-sorted
    }
    const bool last_chunk = use_eoc && in.is_last_chunk != nullptr &&
                            in.is_last_chunk[i] != 0;
    if (o.force_last_chunk_eoc_in_top_k && last_chunk &&
        !has_word(o.eoc_id) && count >= 2) {
      const Candidate old_last = entries[count - 1];
      entries[count - 2] = Candidate{o.eoc_id, slot, row[o.eoc_id],
                                     cum + row[o.eoc_id]};
      entries[count - 1] = old_last;
    }
    const float eos_threshold =
        entries[0].global - o.valid_eos_max_logit_delta;
    for (int c = 0; c < count; ++c) {
      const Candidate& e = entries[c];
      if (e.word == o.eos_id) {
        // Terminated hyps leave the beam whether or not they are accepted.
        if (last_decoder_step || (e.global > eos_threshold &&
                                  e.local > o.local_eos_threshold)) {
          terminal[i] = e;
          terminal_symbol[i] = o.eos_id;
        }
      } else if (last_chunk && e.word == o.eoc_id) {
        if (e.global > eos_threshold && e.local > o.local_eos_threshold &&
            (o.allow_empty_terminated_hyp || !prefixes[i].empty())) {
          terminal[i] = e;
          terminal_symbol[i] = o.eoc_id;
        }
      } else if (o.merge_paths) {
        merging_pools[b].Add(e);
      } else {
        plain_pools[b].push_back(e);
      }
    }
  }

  // Row t and the per-slot vectors. Everything read above (cumulative
  // scores, history rows < t) is final, so in-place writes are safe.
  const Candidate zero{0, 0, 0.0f, 0.0f};
  for (int64_t b = 0; b < B; ++b) {
    if (skip_beam[b]) continue;
    const Candidate* best = nullptr;
    int64_t available = 0;
    if (o.merge_paths) {
      auto& sorted = merging_pools[b].Sorted();
      best = sorted.data();
      available = static_cast<int64_t>(sorted.size());
    } else {
      auto& pool = plain_pools[b];
      available = std::min<int64_t>(K, static_cast<int64_t>(pool.size()));
      std::partial_sort(pool.begin(), pool.begin() + available, pool.end(),
                        Higher);
      best = pool.data();
    }
    for (int64_t j = 0; j < K; ++j) {
      const Candidate& c = j < available ? best[j] : zero;
      const int64_t slot = j * B + b;
      const int64_t at = t * N + slot;
      s.scores[at] = c.local;
      s.cumulative_scores[slot] = c.global;
      s.hyps[at] = c.word;
      s.prev_hyps[at] = c.slot;
      if (S > 0) {
        std::memcpy(s.atten_probs + at * S, in.atten_probs + c.slot * S,
                    sizeof(float) * S);
      }
    }
  }

  for (int64_t i = 0; i < N; ++i) {
    if (terminal_symbol[i] < 0) continue;
    const Candidate& e = terminal[i];
    const int64_t b = i % B;
    s.best_scores[b] = std::max(s.best_scores[b], e.global);
    const int64_t at = t * N + i;
    s.done_hyps[at] = terminal_symbol[i];
    s.done_scores[at] = e.local;
    s.done_cumulative_scores[at] = e.global;
    if (o.atten_vecs_in_hypothesis_protos && S > 0) {
      std::memcpy(s.done_atten_probs + at * S, in.atten_probs + i * S,
                  sizeof(float) * S);
    }
  }

  bool all_done = true;
  for (int64_t b = 0; b < B; ++b) {
    if (!s.beam_done[b]) {
      bool done = true;
      if (o.ensure_full_beam) {
        int64_t terminated = 0;
        for (int64_t step = 0; step <= t; ++step) {
          for (int64_t j = 0; j < K; ++j) {
            terminated += s.done_hyps[step * N + j * B + b] >= 0;
          }
        }
        done = terminated >= K;
      }
      for (int64_t j = 0; done && j < K; ++j) {
        if (s.cumulative_scores[j * B + b] > s.best_scores[b] - o.beam_size) {
          done = false;
        }
      }
      s.beam_done[b] = done;
    }
    all_done = all_done && s.beam_done[b];
  }
  return all_done;
}

}  // namespace lingvo::ops::beam_search
