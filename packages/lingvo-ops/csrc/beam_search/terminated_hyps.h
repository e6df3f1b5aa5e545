// Terminated hypotheses as arrays: the n-best per beam (Lingvo's
// TopKTerminatedHyps), their flattening (UnpackHyp), the hyps of TPU-style
// search outputs (HypsFromBeamSearchOuts) and the fused n-best of those
// outputs (TopKFromBeamSearchOuts).
//
// A batch of hypotheses is a struct of arrays with a leading shape `rows`
// (e.g. [B, k]) and the longest possible hyp `max_len`:
//   ids         int32 [rows..., max_len]     tokens, terminal symbol included
//   lens        int32 [rows...]              0 = no hypothesis
//   scores      f32   [rows..., max_len]     per-step local scores
//   atten_probs f32   [rows..., max_len, S]  per-step attention (S may be 0)
//   normalized  f32   [rows...]              (top-k only) the ranking score
// Entries past lens are zero. Element r is Lingvo's Hypothesis proto with
// ids = ids[r, :lens[r]], scores = scores[r, :lens[r]], one AttenVec per step
// with prob = atten_probs[r, step, :] and normalized_score = normalized[r];
// its beam_id is the beam the row belongs to.
#ifndef LINGVO_OPS_BEAM_SEARCH_TERMINATED_HYPS_H_
#define LINGVO_OPS_BEAM_SEARCH_TERMINATED_HYPS_H_

#include <cstdint>
#include <vector>

namespace lingvo::ops::beam_search {

struct HypBatch {
  int64_t num_rows = 0;
  int64_t max_len = 0;
  int64_t src_len = 0;
  std::vector<int32_t> ids;
  std::vector<int32_t> lens;
  std::vector<float> scores;
  std::vector<float> atten_probs;
  std::vector<float> normalized;  // filled by TopKTerminatedHyps only
};

// The history a beam_search_step loop leaves behind ([T, N] and [T, N, S],
// see beam_search_step.h). Attention pointers may be null together (S = 0):
// the hyps then carry no attention.
struct SearchHistory {
  int64_t max_steps = 0;  // T
  int64_t num_hyps = 0;   // N
  int64_t src_len = 0;    // S
  const float* scores = nullptr;
  const int32_t* hyps = nullptr;
  const int32_t* prev_hyps = nullptr;
  const int32_t* done_hyps = nullptr;  // terminal symbol or -1
  const float* done_scores = nullptr;
  const float* done_cumulative_scores = nullptr;
  const float* done_atten_probs = nullptr;
  const float* atten_probs = nullptr;
};

struct TopKOptions {
  int32_t k = 1;
  int32_t num_hyps_per_beam = 1;
  float length_normalization = 0.0f;  // alpha
  float coverage_penalty = 0.0f;      // beta
  float target_seq_length_ratio = 1.0f;
  // The search merged paths: every step of a hyp scores its global score
  // divided by its length, as Lingvo records it.
  bool merge_paths = false;
};

// The best k terminated hyps of each beam, rows [B, k] in decreasing
// normalized score (GNMT length normalisation and coverage penalty), ties
// to the shorter hyp, then the earlier slot. src_seq_lengths is [B].
HypBatch TopKTerminatedHyps(const SearchHistory& history,
                            const int32_t* src_seq_lengths,
                            const TopKOptions& options);

// Flattens a hyp batch to ids [M, L] (L = max_seq_length, or the longest
// hyp when 0), lengths min(len, L) and normalized scores.
struct UnpackedHyps {
  int64_t num_rows = 0;
  int64_t max_len = 0;
  std::vector<int32_t> ids;
  std::vector<int32_t> lens;
  std::vector<float> scores;
};
UnpackedHyps UnpackHyp(int64_t num_rows, int64_t max_len, const int32_t* ids,
                       const int32_t* lens, const float* normalized,
                       int64_t max_seq_length);

// TPU-style outputs, all [T, N] (atten [T, N, S]); rows [T, N] of hyps
// terminated at (t, n) with eos_id, whose earlier steps follow prev_hyps.
struct BeamSearchOuts {
  int64_t max_steps = 0;
  int64_t num_hyps = 0;
  int64_t src_len = 0;
  const int32_t* hyps = nullptr;
  const int32_t* prev_hyps = nullptr;
  const uint8_t* done_hyps = nullptr;
  const float* scores = nullptr;
  const float* atten_probs = nullptr;
  const float* eos_scores = nullptr;
  const float* eos_atten_probs = nullptr;
};
HypBatch HypsFromBeamSearchOuts(const BeamSearchOuts& outs, int32_t eos_id);

// TopKFromBeamSearchOuts: the best num_hyps_per_beam hyps of each beam among
// those `outs.done_hyps` marks, without building every hyp first. The hyp
// terminated at (t, n) scores eos_scores[t, n] + cumulative_scores[t - 1, n]
// (t > 0), has length t + 1, and ranks by that score over
// ((t + 6) / 5)^alpha plus r * beta * sum_p log(clip(c_p / r, 0.001, 0.5))
// with c = cumulative_atten_probs[t, n, :] (all S positions; read only when
// beta > 0); ties go to the earlier step, then the smaller slot.
struct TopKFromOutsOptions {
  int32_t num_hyps_per_beam = 1;
  int64_t max_seq_length = 1;
  int32_t eos_id = 2;
  float length_normalization = 0.0f;  // alpha >= 0
  float coverage_penalty = 0.0f;      // beta >= 0
  float target_seq_length_ratio = 1.0f;
  // Also build the kept hyps' per-step scores and attention (Lingvo's
  // populate_topk_hyps); needs outs.scores, and attention when S > 0.
  bool populate_topk_hyps = false;
};
struct TopKFromOuts {
  // Beam-major rows b * K + j: ids [N, max_seq_length] (cut to the width,
  // zero padded), lens [N] (the full length t + 1, 0 = no hyp) and the
  // ranking scores [N].
  UnpackedHyps top;
  // With populate_topk_hyps: rows [B * K] of length T, normalized filled.
  HypBatch hyps;
};
// `cumulative_scores` is [T, N]; `cumulative_atten_probs` [T, N, S] may be
// null when beta == 0. Back-pointers must stay within their beam.
TopKFromOuts TopKFromBeamSearchOuts(const BeamSearchOuts& outs,
                                    const float* cumulative_scores,
                                    const float* cumulative_atten_probs,
                                    const TopKFromOutsOptions& options);

}  // namespace lingvo::ops::beam_search

#endif  // LINGVO_OPS_BEAM_SEARCH_TERMINATED_HYPS_H_
