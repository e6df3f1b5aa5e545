// Word-piece model (WPM) encoder and decoder: Lingvo's wpm_encoder.py and
// WpmTokenizer, after Schuster and Nakajima's greedy merge segmentation.
//
// Plain C++17: no Python, no pybind11 and no TensorFlow.
#ifndef LINGVO_OPS_TEXT_WORD_PIECE_H_
#define LINGVO_OPS_TEXT_WORD_PIECE_H_

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "text/vocab.h"

namespace lingvo::ops::text {

// The word-begin marker U+2581 that prefixes every word before encoding.
inline constexpr std::string_view kWordBegin = "\xE2\x96\x81";

// A word-piece vocabulary, read once and then only read (thread-safe).
//
// One piece per line, anything after a TAB ignored, surrounding whitespace
// stripped; the line number is the id and a smaller id merges first. A
// later duplicate piece takes over the piece's id for encoding.
class WordPieceModel {
 public:
  // The maps view into the owned strings: a copy would dangle, a move
  // keeps them valid.
  WordPieceModel(const WordPieceModel&) = delete;
  WordPieceModel& operator=(const WordPieceModel&) = delete;
  WordPieceModel(WordPieceModel&&) = default;
  WordPieceModel& operator=(WordPieceModel&&) = default;

  // Loads the file the glob `pattern` matches (exactly one file).
  //
  // Throws FileNotFoundError / FileReadError (text_file.h), or
  // std::invalid_argument naming the file and line for a blank line (its id
  // would be ambiguous) and naming the file when <unk>, <s> or </s> is
  // missing.
  static WordPieceModel FromFile(const std::string& pattern);

  // The ids of `text`: the words (split on ASCII whitespace) each prefixed
  // with U+2581 and split into characters (each unknown character, and each
  // ill-formed UTF-8 sequence, is <unk>), then adjacent pieces merged while
  // any pair's concatenation is a piece, the pair whose piece has the
  // smallest id first (the leftmost on a tie).
  std::vector<int32_t> Encode(std::string_view text) const;

  // The pieces of `ids` joined, U+2581 turned into a space, and surrounding
  // ASCII whitespace stripped. Ids without a piece give "<unk>".
  std::string Decode(const int32_t* ids, std::size_t count) const;

  // Encodes each label and lays the rows out like Lingvo's WpmTokenizer:
  // see LayOutTokenRows (truncation leaves no eos; without pad_to_maxlen the
  // width is the longest row's real length).
  TokenBatch StringsToIds(const std::vector<std::string>& labels,
                          bool append_eos, int64_t maxlen,
                          bool pad_to_maxlen) const;

  // The piece of `id`, or "<unk>" when out of range.
  std::string_view Piece(int64_t id) const;

  int32_t unk_id() const { return unk_id_; }
  int32_t sos_id() const { return sos_id_; }
  int32_t eos_id() const { return eos_id_; }
  int64_t size() const { return static_cast<int64_t>(pieces_.size()); }
  const std::string& source() const { return source_; }

 private:
  WordPieceModel() = default;

  // The id of `piece`, or -1.
  int32_t Find(std::string_view piece) const;
  void EncodeWord(std::string_view word, std::vector<int32_t>* ids) const;

  std::string source_;
  std::deque<std::string> pieces_;  // by id; the map views into it
  std::unordered_map<std::string_view, int32_t> piece_to_id_;
  int32_t unk_id_ = 0, sos_id_ = 1, eos_id_ = 2;
};

}  // namespace lingvo::ops::text

#endif  // LINGVO_OPS_TEXT_WORD_PIECE_H_
