// Byte-pair-encoding word maps (Lingvo's BpeWordsToIds / BpeIdsToWords) and
// the MLPerf subword decoder (MlPerfSubwordIdToString).
//
// Plain C++17: no Python, no pybind11 and no TensorFlow.
#ifndef LINGVO_OPS_TEXT_BPE_H_
#define LINGVO_OPS_TEXT_BPE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "text/vocab.h"

namespace lingvo::ops::text {

// Word -> BPE ids, from lines "WORD id,id,..." (a later duplicate word
// replaces the earlier one). Read once, then only read.
class BpeWordMap {
 public:
  // Throws FileNotFoundError / FileReadError (text_file.h), or
  // std::invalid_argument naming the file and line for a malformed line.
  static BpeWordMap FromFile(const std::string& pattern);

  // Lingvo's BpeWordsToIds: each label split on spaces (whitespace-only
  // pieces dropped), each known word replaced by its ids (unknown words give
  // none), laid out by LayOutTokenRows with the width always maxlen.
  TokenBatch WordsToIds(const std::vector<std::string>& labels,
                        bool append_eos, int64_t maxlen, int32_t sos_id,
                        int32_t eos_id) const;

  int64_t size() const { return static_cast<int64_t>(words_.size()); }

 private:
  std::unordered_map<std::string, std::vector<int32_t>> words_;
};

// Id -> BPE token (first space-separated field of each non-empty line).
class BpeVocab {
 public:
  static BpeVocab FromFile(const std::string& pattern);

  // Lingvo's BpeIdsToWords: for each of the first max(0, len) ids of a row,
  // its token with the first "@@" deleted, or its token and a space when it
  // has no "@@"; concatenated.
  //
  // Throws std::invalid_argument when a length exceeds row_len or an id has
  // no token.
  std::vector<std::string> IdsToWords(const int64_t* token_ids, int64_t batch,
                                      int64_t row_len,
                                      const int64_t* seq_lengths) const;

  int64_t size() const { return static_cast<int64_t>(tokens_.size()); }

 private:
  std::string source_;
  std::vector<std::string> tokens_;
};

// The MLPerf (tensor2tensor) subword vocabulary: one token per non-empty
// line, wrapped in a character on each side (single quotes).
class MlPerfSubwordVocab {
 public:
  // Throws FileNotFoundError / FileReadError (text_file.h), or
  // std::invalid_argument naming the file and line for a line of two
  // characters or fewer (Lingvo aborted the process).
  static MlPerfSubwordVocab FromFile(const std::string& pattern);

  // Lingvo's MlPerfSubwordIdToString: the tokens of the first max(0, len)
  // ids concatenated, split on '_', and the pieces joined with a space
  // between two neighbours that both start with a letter or decimal digit.
  //
  // Throws std::invalid_argument when a length exceeds row_len or an id is
  // outside [0, size) (Lingvo aborted the process).
  std::vector<std::string> IdsToStrings(const int64_t* token_ids,
                                        int64_t batch, int64_t row_len,
                                        const int64_t* seq_lengths) const;

  int64_t size() const { return static_cast<int64_t>(tokens_.size()); }

 private:
  std::string source_;
  std::vector<std::string> tokens_;
};

}  // namespace lingvo::ops::text

#endif  // LINGVO_OPS_TEXT_BPE_H_
