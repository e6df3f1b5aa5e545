// Levenshtein alignment of hypotheses against references, counted as
// substitutions, insertions and deletions, for word and character error rates.
//
// Plain C++17: no Python, no pybind11 and no TensorFlow.
#ifndef LINGVO_OPS_METRICS_EDIT_DISTANCE_H_
#define LINGVO_OPS_METRICS_EDIT_DISTANCE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lingvo::ops::metrics {

// The edit operations of one alignment and the reference's length in tokens.
// The edit distance (the errors of WER) is the sum of the first three.
struct EditCounts {
  int64_t substitutions = 0;
  int64_t insertions = 0;  // Hypothesis tokens that are not in the reference.
  int64_t deletions = 0;   // Reference tokens missing from the hypothesis.
  int64_t ref_length = 0;
};

// How text is cut into tokens.
enum class Level {
  kWord,  // Runs of non-whitespace code points (Python's str.split()).
  kChar,  // Unicode code points.
};

// Decodes UTF-8 into code points. A byte that does not start a valid,
// shortest-form sequence of a scalar value becomes 0xDC00 + byte, as
// Python's "surrogateescape" error handler does, so every input decodes and
// two different byte strings never decode alike.
std::vector<int32_t> DecodeUtf8(std::string_view text);

// Whether `code_point` is whitespace for Python's str.split().
bool IsPythonSpace(int32_t code_point);

// A minimum-cost alignment of `hyp` to `ref` (every operation costs 1).
//
// Among alignments of equal cost the counts follow Lingvo's
// levenshtein_distance: at each cell a substitution (or match) wins when it
// is strictly cheaper than both the insertion and the deletion, else a
// deletion when strictly cheaper than the insertion, else the insertion.
// `scratch` is reused between calls to avoid allocations.
EditCounts AlignTokens(const int64_t* hyp, int64_t hyp_len, const int64_t* ref,
                       int64_t ref_len, std::vector<EditCounts>* scratch);

// Aligns each hypothesis with its reference, both cut into tokens at `level`.
// Strings are UTF-8; see DecodeUtf8 for malformed bytes. Returns one entry
// per pair. Throws std::invalid_argument when the batch sizes differ.
std::vector<EditCounts> EditDistanceTexts(const std::vector<std::string>& hyps,
                                          const std::vector<std::string>& refs,
                                          Level level);

// A sequence of token ids.
struct IdSpan {
  const int64_t* data = nullptr;
  int64_t size = 0;
};

// Aligns each hypothesis id sequence with its reference id sequence.
// Throws std::invalid_argument when the batch sizes differ.
std::vector<EditCounts> EditDistanceIds(const std::vector<IdSpan>& hyps,
                                        const std::vector<IdSpan>& refs);

}  // namespace lingvo::ops::metrics

#endif  // LINGVO_OPS_METRICS_EDIT_DISTANCE_H_
