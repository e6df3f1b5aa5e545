#include "text/bpe.h"

#include <stdexcept>

#include "text/text_file.h"
#include "text/utf8.h"

namespace lingvo::ops::text {
namespace {

std::string IdError(int64_t b, int64_t k, int64_t id, const std::string& source,
                    int64_t size) {
  return "token_ids[" + std::to_string(b) + ", " + std::to_string(k) + "] = " +
         std::to_string(id) + " is outside the vocabulary " + source +
         " of " + std::to_string(size) + " tokens";
}

// True when `piece` starts with a letter or decimal digit; empty is not.
bool StartsAlnum(std::string_view piece) {
  if (piece.empty()) return false;
  std::size_t size = 0;
  return IsUnicodeAlnum(DecodeUtf8(piece, &size));
}

}  // namespace

BpeWordMap BpeWordMap::FromFile(const std::string& pattern) {
  const TextFile file = ReadSingleFile(pattern);
  BpeWordMap map;
  for (const NumberedLine& line : NonEmptyLines(file.contents)) {
    const std::size_t space = line.text.find(' ');
    if (space == std::string_view::npos ||
        line.text.find(' ', space + 1) != std::string_view::npos) {
      throw std::invalid_argument(Where(file.path, line.number) +
                                  "expected 'WORD id,id,...', found '" +
                                  std::string(line.text) + "'");
    }
    std::vector<int32_t> ids;
    std::string_view rest = line.text.substr(space + 1);
    while (true) {
      const std::size_t comma = rest.find(',');
      const std::string_view field = rest.substr(0, comma);
      int32_t id = 0;
      if (!ParseInt32(field, &id)) {
        throw std::invalid_argument(Where(file.path, line.number) +
                                    "expected an int32 id, found '" +
                                    std::string(field) + "'");
      }
      ids.push_back(id);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    map.words_[std::string(line.text.substr(0, space))] = std::move(ids);
  }
  return map;
}

TokenBatch BpeWordMap::WordsToIds(const std::vector<std::string>& labels,
                                  bool append_eos, int64_t maxlen,
                                  int32_t sos_id, int32_t eos_id) const {
  if (maxlen < 1) {
    throw std::invalid_argument("maxlen must be >= 1, got " +
                                std::to_string(maxlen));
  }
  std::vector<std::vector<int32_t>> rows(labels.size());
  for (std::size_t b = 0; b < labels.size(); ++b) {
    for (std::string_view word : SplitTokens(labels[b], " ")) {
      const auto it = words_.find(std::string(word));
      if (it == words_.end()) continue;
      rows[b].insert(rows[b].end(), it->second.begin(), it->second.end());
      if (static_cast<int64_t>(rows[b].size()) >= maxlen) break;
    }
  }
  return LayOutTokenRows(rows, sos_id, eos_id, append_eos, maxlen,
                         /*pad_to_maxlen=*/true);
}

BpeVocab BpeVocab::FromFile(const std::string& pattern) {
  const TextFile file = ReadSingleFile(pattern);
  BpeVocab vocab;
  vocab.source_ = file.path;
  for (const NumberedLine& line : NonEmptyLines(file.contents)) {
    vocab.tokens_.emplace_back(line.text.substr(0, line.text.find(' ')));
  }
  return vocab;
}

std::vector<std::string> BpeVocab::IdsToWords(const int64_t* token_ids,
                                              int64_t batch, int64_t row_len,
                                              const int64_t* seq_lengths) const {
  std::vector<std::string> out(static_cast<std::size_t>(batch));
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t len = CheckedRowLength(seq_lengths, b, row_len);
    std::string& text = out[static_cast<std::size_t>(b)];
    for (int64_t k = 0; k < len; ++k) {
      const int64_t id = token_ids[b * row_len + k];
      if (id < 0 || id >= size()) {
        throw std::invalid_argument(IdError(b, k, id, source_, size()));
      }
      const std::string& token = tokens_[static_cast<std::size_t>(id)];
      const std::size_t at = token.find("@@");
      if (at == std::string::npos) {
        text.append(token).push_back(' ');
      } else {
        text.append(token, 0, at).append(token, at + 2, std::string::npos);
      }
    }
  }
  return out;
}

MlPerfSubwordVocab MlPerfSubwordVocab::FromFile(const std::string& pattern) {
  const TextFile file = ReadSingleFile(pattern);
  MlPerfSubwordVocab vocab;
  vocab.source_ = file.path;
  for (const NumberedLine& line : NonEmptyLines(file.contents)) {
    if (line.text.size() <= 2) {
      throw std::invalid_argument(
          Where(file.path, line.number) +
          "expected a quoted token of at least one character, found '" +
          std::string(line.text) + "'");
    }
    vocab.tokens_.emplace_back(line.text.substr(1, line.text.size() - 2));
  }
  return vocab;
}

std::vector<std::string> MlPerfSubwordVocab::IdsToStrings(
    const int64_t* token_ids, int64_t batch, int64_t row_len,
    const int64_t* seq_lengths) const {
  std::vector<std::string> out(static_cast<std::size_t>(batch));
  std::string joined;
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t len = CheckedRowLength(seq_lengths, b, row_len);
    joined.clear();
    for (int64_t k = 0; k < len; ++k) {
      const int64_t id = token_ids[b * row_len + k];
      if (id < 0 || id >= size()) {
        throw std::invalid_argument(IdError(b, k, id, source_, size()));
      }
      joined.append(tokens_[static_cast<std::size_t>(id)]);
    }
    std::string& text = out[static_cast<std::size_t>(b)];
    bool previous_alnum = false;
    std::size_t start = 0;
    for (bool first = true;; first = false) {
      const std::size_t end = joined.find('_', start);
      const std::size_t count =
          end == std::string::npos ? std::string::npos : end - start;
      const std::string_view piece = std::string_view(joined).substr(start, count);
      const bool alnum = StartsAlnum(piece);
      if (!first && previous_alnum && alnum) text.push_back(' ');
      text.append(piece);
      previous_alnum = alnum;
      if (end == std::string::npos) break;
      start = end + 1;
    }
  }
  return out;
}

}  // namespace lingvo::ops::text
