#include "text/word_piece.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "text/text_file.h"
#include "text/utf8.h"

namespace lingvo::ops::text {
namespace {

constexpr std::string_view kUnk = "<unk>";

// Python's str.strip() set restricted to what can appear in a vocabulary
// line's bytes without decoding: ASCII whitespace and the separators
// \x1c-\x1f.
bool IsStripped(char c) {
  return IsAsciiSpace(c) || (c >= '\x1c' && c <= '\x1f');
}

std::string_view Strip(std::string_view s, bool (*drop)(char)) {
  while (!s.empty() && drop(s.front())) s.remove_prefix(1);
  while (!s.empty() && drop(s.back())) s.remove_suffix(1);
  return s;
}

bool IsSpaceChar(char c) { return IsAsciiSpace(c); }

}  // namespace

WordPieceModel WordPieceModel::FromFile(const std::string& pattern) {
  const TextFile file = ReadSingleFile(pattern);
  WordPieceModel model;
  model.source_ = file.path;
  std::string_view rest = file.contents;
  int64_t line_number = 0;
  while (!rest.empty()) {
    std::size_t end = rest.find('\n');
    const std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    ++line_number;
    const std::string_view stripped = Strip(line, IsStripped);
    const std::string_view piece = stripped.substr(0, stripped.find('\t'));
    if (piece.empty()) {
      // Lingvo's lookup op skips blank lines while its sos/eos/unk ids count
      // them, so every later id would be off by one.
      throw std::invalid_argument(Where(model.source_, line_number) +
                                  "blank line in a word-piece vocabulary");
    }
    if (model.pieces_.size() >=
        static_cast<std::size_t>(std::numeric_limits<int32_t>::max())) {
      throw std::invalid_argument(model.source_ + ": too many pieces");
    }
    const auto id = static_cast<int32_t>(model.pieces_.size());
    model.piece_to_id_[model.pieces_.emplace_back(piece)] = id;
  }
  // The first occurrence, as Python's list.index finds it.
  const auto first_index = [&](std::string_view token) -> int32_t {
    const auto it = std::find(model.pieces_.begin(), model.pieces_.end(), token);
    if (it == model.pieces_.end()) {
      throw std::invalid_argument(model.source_ + ": " + std::string(token) +
                                  " is not found in the word-piece vocab.");
    }
    return static_cast<int32_t>(it - model.pieces_.begin());
  };
  model.unk_id_ = first_index(kUnk);
  model.sos_id_ = first_index("<s>");
  model.eos_id_ = first_index("</s>");
  return model;
}

int32_t WordPieceModel::Find(std::string_view piece) const {
  const auto it = piece_to_id_.find(piece);
  return it == piece_to_id_.end() ? -1 : it->second;
}

std::string_view WordPieceModel::Piece(int64_t id) const {
  if (id < 0 || id >= size()) return kUnk;
  return pieces_[static_cast<std::size_t>(id)];
}

void WordPieceModel::EncodeWord(std::string_view word,
                                std::vector<int32_t>* ids) const {
  std::vector<int32_t> tokens;
  std::string buffer;
  for (std::size_t pos = 0; pos < word.size();) {
    std::size_t size = 0;
    const char32_t cp = DecodeUtf8(word.substr(pos), &size);
    int32_t id = -1;
    if (cp == kReplacementChar) {
      // An ill-formed sequence stands for U+FFFD, whatever its bytes.
      id = Find("\xEF\xBF\xBD");
    } else {
      id = Find(word.substr(pos, size));
    }
    tokens.push_back(id < 0 ? unk_id_ : id);
    pos += size;
  }
  // candidates[i]: the id of pieces i and i + 1 merged, or kNone.
  constexpr int64_t kNone = std::numeric_limits<int64_t>::max();
  const auto merged = [&](int32_t a, int32_t b) -> int64_t {
    buffer.assign(Piece(a));
    buffer.append(Piece(b));
    const int32_t id = Find(buffer);
    return id < 0 ? kNone : id;
  };
  std::vector<int64_t> candidates;
  for (std::size_t i = 0; i + 1 < tokens.size(); ++i) {
    candidates.push_back(merged(tokens[i], tokens[i + 1]));
  }
  while (!candidates.empty()) {
    const auto best = std::min_element(candidates.begin(), candidates.end());
    if (*best == kNone) break;
    const auto i = static_cast<std::size_t>(best - candidates.begin());
    tokens[i] = static_cast<int32_t>(*best);
    tokens.erase(tokens.begin() + static_cast<std::ptrdiff_t>(i) + 1);
    candidates.erase(candidates.begin() + static_cast<std::ptrdiff_t>(i));
    if (i > 0) candidates[i - 1] = merged(tokens[i - 1], tokens[i]);
    if (i < candidates.size()) candidates[i] = merged(tokens[i], tokens[i + 1]);
  }
  ids->insert(ids->end(), tokens.begin(), tokens.end());
}

std::vector<int32_t> WordPieceModel::Encode(std::string_view text) const {
  std::vector<int32_t> ids;
  std::string word;
  std::size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && IsAsciiSpace(text[pos])) ++pos;
    const std::size_t start = pos;
    while (pos < text.size() && !IsAsciiSpace(text[pos])) ++pos;
    if (pos == start) break;
    word.assign(kWordBegin);
    word.append(text.substr(start, pos - start));
    EncodeWord(word, &ids);
  }
  return ids;
}

std::string WordPieceModel::Decode(const int32_t* ids, std::size_t count) const {
  std::string joined;
  for (std::size_t i = 0; i < count; ++i) joined.append(Piece(ids[i]));
  std::string out;
  out.reserve(joined.size());
  for (std::size_t pos = 0; pos < joined.size();) {
    if (joined.compare(pos, kWordBegin.size(), kWordBegin) == 0) {
      out.push_back(' ');
      pos += kWordBegin.size();
    } else {
      out.push_back(joined[pos++]);
    }
  }
  return std::string(Strip(out, IsSpaceChar));
}

TokenBatch WordPieceModel::StringsToIds(const std::vector<std::string>& labels,
                                        bool append_eos, int64_t maxlen,
                                        bool pad_to_maxlen) const {
  if (maxlen < 1) {
    throw std::invalid_argument("maxlen must be >= 1, got " +
                                std::to_string(maxlen));
  }
  std::vector<std::vector<int32_t>> rows;
  rows.reserve(labels.size());
  for (const std::string& label : labels) rows.push_back(Encode(label));
  return LayOutTokenRows(rows, sos_id_, eos_id_, append_eos, maxlen,
                         pad_to_maxlen, /*eos_counts_only_if_appended=*/true);
}

}  // namespace lingvo::ops::text
