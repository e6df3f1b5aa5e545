// Vocabulary files and the ops that look tokens up in them (Lingvo's
// simple_vocab, StrToVocabTokens and NgramIdToToken).
//
// Plain C++17: no Python, no pybind11 and no TensorFlow. The bindings in
// csrc/bindings/ adapt these functions to numpy arrays.
#ifndef LINGVO_OPS_TEXT_VOCAB_H_
#define LINGVO_OPS_TEXT_VOCAB_H_

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace lingvo::ops::text {

// A token <-> id map read once from a file (or from lines) and then only read,
// so one instance may serve several threads.
//
// Each non-empty line is split on TAB and column 0 is the token. Its id is
// the index of the line among the non-empty lines, or, when ids are loaded,
// the integer in column 1. A later duplicate token (or id) replaces the
// earlier one. The file must hold either the lowercase specials <s>, </s>,
// <unk> or, when <s> is absent, the uppercase <S>, </S>, <UNK>, and none of
// the other set.
class Vocab {
 public:
  // The maps view into the owned strings: a copy would dangle, a move
  // keeps them valid.
  Vocab(const Vocab&) = delete;
  Vocab& operator=(const Vocab&) = delete;
  Vocab(Vocab&&) = default;
  Vocab& operator=(Vocab&&) = default;

  // Loads the file the glob `pattern` matches (exactly one file).
  //
  // Throws FileNotFoundError / FileReadError (text_file.h) when the file
  // cannot be read and std::invalid_argument, naming the file and line, when
  // its contents are malformed.
  static Vocab FromFile(const std::string& pattern, bool load_token_ids);

  // Builds a vocabulary from `lines` as if they were the lines of a file
  // called `source` (used in error messages).
  static Vocab FromLines(const std::vector<std::string>& lines,
                         bool load_token_ids,
                         const std::string& source = "<lines>");

  // The id of `token`, or unk_id() when it is not in the vocabulary.
  int32_t TokenToId(std::string_view token) const;
  // The token of `id`, or unk_token() when no token has that id.
  std::string_view IdToToken(int32_t id) const;
  bool Contains(std::string_view token) const;

  int32_t unk_id() const { return unk_id_; }
  int32_t sos_id() const { return sos_id_; }
  int32_t eos_id() const { return eos_id_; }
  // -1 when the vocabulary has no <sow> / <eow>.
  int32_t sow_id() const { return sow_id_; }
  int32_t eow_id() const { return eow_id_; }
  std::string_view unk_token() const { return unk_token_; }
  // Number of distinct tokens.
  int64_t size() const { return static_cast<int64_t>(token_to_id_.size()); }
  const std::string& source() const { return source_; }
  bool load_token_ids() const { return load_token_ids_; }

 private:
  Vocab() = default;

  void AddLine(std::string_view line, int64_t line_number, int32_t index);
  void ResolveSpecials();

  std::string source_;
  bool load_token_ids_ = false;
  // Owns the token bytes; the maps view into it (a deque never moves them).
  std::deque<std::string> storage_;
  std::unordered_map<std::string_view, int32_t> token_to_id_;
  std::unordered_map<int32_t, std::string_view> id_to_token_;
  int32_t unk_id_ = -1, sos_id_ = -1, eos_id_ = -1, sow_id_ = -1, eow_id_ = -1;
  std::string unk_token_;
};

// Row-major [batch, width] decoder inputs and targets of a tokenized batch.
struct TokenBatch {
  int64_t batch = 0;
  int64_t width = 0;
  std::vector<int32_t> token_ids;   // sos followed by the ids, then eos.
  std::vector<int32_t> target_ids;  // the ids followed by eos, then eos.
  std::vector<float> paddings;      // 1.0 where padded.
};

// Lays rows of ids out the way Lingvo's vocabulary tokenizers do.
//
// A row of n ids: token_ids = [sos] + ids, target_ids = ids + [eos], both
// filled up with eos; paddings are 0.0 over the ids and 1.0 past eos, and on
// eos itself 0.0 only when `append_eos`. A row with n >= maxlen ids is cut to
// maxlen targets (maxlen - 1 after sos) and gets no eos, so every position
// is real. The width is maxlen when `pad_to_maxlen`, else the longest used
// row: min(n + 1, maxlen), or with `eos_counts_only_if_appended` and no
// `append_eos` min(n, maxlen) (the word-piece tokenizer's rule).
//
// Throws std::invalid_argument when maxlen < 1.
TokenBatch LayOutTokenRows(const std::vector<std::vector<int32_t>>& rows,
                           int32_t sos_id, int32_t eos_id, bool append_eos,
                           int64_t maxlen, bool pad_to_maxlen,
                           bool eos_counts_only_if_appended = false);

// Splits `label` into tokens: on any byte of `delimiter`, dropping pieces
// that are empty or all ASCII whitespace; an empty delimiter makes each
// byte a token.
std::vector<std::string_view> SplitTokens(std::string_view label,
                                          std::string_view delimiter);

// Lingvo's StrToVocabTokens: tokenizes each label with SplitTokens, looks
// every token up in `vocab` and lays the rows out with LayOutTokenRows using
// the vocabulary's sos and eos ids.
TokenBatch StrToVocabTokens(const std::vector<std::string>& labels,
                            const Vocab& vocab, bool append_eos,
                            int64_t maxlen, bool pad_to_maxlen,
                            std::string_view delimiter);

// Ids of many lines in one flat buffer: line b's ids are the `lengths[b]`
// entries after those of lines 0..b-1.
struct RaggedIds {
  std::vector<int32_t> ids;
  std::vector<int32_t> lengths;
};

// Splits each label with SplitTokens and looks every token up in `vocab`
// (unknown: unk_id), keeping every token: the per-record work of an input
// pipeline's tokenising processor, done for a whole chunk of records at once.
RaggedIds TokenizeToIds(const std::vector<std::string>& labels,
                        const Vocab& vocab, std::string_view delimiter);

// Lingvo's NgramIdToToken: row b of the row-major [batch, row_len]
// `token_ids` becomes the tokens of its first max(0, seq_lengths[b]) ids
// (unknown ids give the unk token) joined by `separator`.
//
// Throws std::invalid_argument when a length exceeds row_len or an id does
// not fit in int32.
std::vector<std::string> NgramIdToToken(const Vocab& vocab,
                                        const int64_t* token_ids,
                                        int64_t batch, int64_t row_len,
                                        const int64_t* seq_lengths,
                                        std::string_view separator);

// Checks that row b's length fits in its row; shared by the id -> string ops.
// Throws std::invalid_argument naming the row.
int64_t CheckedRowLength(const int64_t* seq_lengths, int64_t b,
                         int64_t row_len);

// `id` as int32; throws std::invalid_argument naming `what` when it does
// not fit.
int32_t CheckedId(int64_t id, const char* what);

}  // namespace lingvo::ops::text

#endif  // LINGVO_OPS_TEXT_VOCAB_H_
