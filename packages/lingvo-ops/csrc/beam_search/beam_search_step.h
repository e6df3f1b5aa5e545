// One step of hyp-major beam search (Lingvo's BeamSearchStepV2) over raw
// arrays. Plain C++17: the bindings own the arrays and their validation.
//
// Layout: B beams of K hyps, N = K * B; hyp j of beam b lives at j * B + b
// in every size-N axis. T is the number of decode steps, V the vocabulary
// size and S the source length.
//
// A hyp that terminates at step t is recorded under the slot i it extended
// (its "source slot"), not in the beam: done_hyps[t, i] holds its terminal
// symbol (eos, or eoc for a last-chunk termination; -1 = nothing terminated),
// done_scores[t, i] the terminal's local score, done_cumulative_scores[t, i]
// its global score and done_atten_probs[t, i, :] the attention of step t.
// Its earlier tokens are the back-pointer chain that starts at slot i of step
// t - 1 in hyps / prev_hyps / scores / atten_probs, rows that later steps
// never rewrite. That is all of Lingvo's Hypothesis proto, without
// serialising one per termination.
#ifndef LINGVO_OPS_BEAM_SEARCH_BEAM_SEARCH_STEP_H_
#define LINGVO_OPS_BEAM_SEARCH_BEAM_SEARCH_STEP_H_

#include <cstdint>
#include <stdexcept>
#include <string>

namespace lingvo::ops::beam_search {

// A malformed input (a shape, an id out of range, NaN scores). The message
// names the input and what was expected.
class InvalidInput : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

struct BeamSearchStepOptions {
  int32_t eos_id = 2;
  // End-of-chunk (epsilon) id of RNN-T / neural-transducer models; -1: none.
  int32_t eoc_id = -1;
  // A pruning margin, not a count: a beam is done once no active hyp is
  // within beam_size of its best terminated global score.
  float beam_size = 3.0f;
  int32_t num_hyps_per_beam = 1;
  float valid_eos_max_logit_delta = 5.0f;
  float local_eos_threshold = -100.0f;
  bool merge_paths = false;
  bool allow_empty_terminated_hyp = true;
  bool ensure_full_beam = false;
  bool force_eos_in_last_step = false;
  bool force_eos_in_top_k = false;
  bool force_last_chunk_eoc_in_top_k = false;
  int32_t merged_topk_buffer_size_factor = 2;
  bool beam_independence = false;
  // Whether done_atten_probs rows are written.
  bool atten_vecs_in_hypothesis_protos = true;
};

// Shapes of one step; every pointer below is C-contiguous.
struct BeamSearchDims {
  int64_t num_beams = 0;   // B
  int64_t num_hyps = 0;    // N
  int64_t vocab = 0;       // V
  int64_t src_len = 0;     // S
  int64_t max_steps = 0;   // T
  int64_t cur_step = 0;    // t, 0 <= t < T
};

// This step's model outputs (read only).
struct BeamSearchStepInputs {
  const float* scores = nullptr;          // [N, V] local scores
  const float* atten_probs = nullptr;     // [N, S]
  const uint8_t* is_last_chunk = nullptr;  // [N]; read only when eoc_id >= 0
};

// The search state, updated in place: row t of the [T, ...] arrays and the
// [B] / [N] vectors are written, nothing else.
struct BeamSearchState {
  float* best_scores = nullptr;             // [B]
  float* cumulative_scores = nullptr;       // [N]
  float* scores = nullptr;                  // [T, N] local score history
  int32_t* hyps = nullptr;                  // [T, N] token history
  int32_t* prev_hyps = nullptr;             // [T, N] back-pointers
  int32_t* done_hyps = nullptr;             // [T, N] terminal symbol or -1
  float* done_scores = nullptr;             // [T, N]
  float* done_cumulative_scores = nullptr;  // [T, N]
  float* done_atten_probs = nullptr;        // [T, N, S]
  float* atten_probs = nullptr;             // [T, N, S] attention history
  uint8_t* beam_done = nullptr;             // [B]
};

// Runs step dims.cur_step and returns all_done (every beam done). Throws
// InvalidInput for bad attributes, out-of-range back-pointers or all-NaN
// score rows.
bool BeamSearchStep(const BeamSearchDims& dims,
                    const BeamSearchStepInputs& inputs,
                    const BeamSearchStepOptions& options,
                    BeamSearchState& state);

}  // namespace lingvo::ops::beam_search

#endif  // LINGVO_OPS_BEAM_SEARCH_BEAM_SEARCH_STEP_H_
