// Character-level tokenizer over a fixed table of 76 ASCII symbols.
//
// Plain C++17: no Python, no pybind11 and no TensorFlow. The bindings in
// csrc/bindings/ adapt these functions to numpy arrays.
#ifndef LINGVO_OPS_TEXT_ASCII_TOKENIZER_H_
#define LINGVO_OPS_TEXT_ASCII_TOKENIZER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lingvo::ops::text {

// Ids with a fixed meaning in the table.
inline constexpr int32_t kAsciiUnkId = 0;
inline constexpr int32_t kAsciiSosId = 1;
inline constexpr int32_t kAsciiEosId = 2;
// Number of symbols in the table; valid ids are [0, kAsciiVocabSize).
inline constexpr int32_t kAsciiVocabSize = 76;

// The symbol of `id`; ids outside the table give "<unk>".
std::string_view AsciiSymbol(int32_t id);

// Appends the ids of `text` to `ids`, stopping once `ids` holds `limit`
// entries (a negative limit means no limit). ASCII letters are lowercased
// first; multi-character symbols such as "<noise>" are recognised as one id;
// any byte outside the table, including each byte of a UTF-8 sequence, is
// kAsciiUnkId.
void AppendAsciiIds(std::string_view text, int64_t limit,
                    std::vector<int32_t>* ids);

// The ids of `text`, see AppendAsciiIds.
std::vector<int32_t> AsciiIds(std::string_view text);

// Row-major [batch, width] results of AsciiToTokenIds.
struct AsciiTokenBatch {
  int64_t batch = 0;
  int64_t width = 0;
  std::vector<int32_t> token_ids;   // <s> followed by the ids, then </s>.
  std::vector<int32_t> target_ids;  // the ids followed by </s>, then </s>.
  std::vector<float> paddings;      // 1.0 where padded.
};

// Tokenizes a batch of strings into decoder inputs and targets.
//
// Each row keeps at most maxlen - 1 ids so that its </s> always fits. The
// </s> position is padding only when `append_eos` is false. The width is
// `maxlen` when `pad_to_maxlen`, else the longest row plus one.
//
// Throws std::invalid_argument when maxlen < 1.
AsciiTokenBatch AsciiToTokenIds(const std::vector<std::string>& labels,
                                bool append_eos, int64_t maxlen,
                                bool pad_to_maxlen);

// Turns rows of ids back into strings: row b uses its first
// max(0, seq_lengths[b]) ids of the row-major [batch, row_len] `token_ids`,
// concatenated without separator.
//
// Throws std::invalid_argument when a length exceeds row_len.
std::vector<std::string> IdToAscii(const int64_t* token_ids, int64_t batch,
                                   int64_t row_len,
                                   const int64_t* seq_lengths);

}  // namespace lingvo::ops::text

#endif  // LINGVO_OPS_TEXT_ASCII_TOKENIZER_H_
