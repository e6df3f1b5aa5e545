#include "text/vocab.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "text/text_file.h"

namespace lingvo::ops::text {

Vocab Vocab::FromFile(const std::string& pattern, bool load_token_ids) {
  const TextFile file = ReadSingleFile(pattern);
  Vocab vocab;
  vocab.source_ = file.path;
  vocab.load_token_ids_ = load_token_ids;
  int32_t index = 0;
  for (const NumberedLine& line : NonEmptyLines(file.contents)) {
    vocab.AddLine(line.text, line.number, index++);
  }
  vocab.ResolveSpecials();
  return vocab;
}

Vocab Vocab::FromLines(const std::vector<std::string>& lines,
                       bool load_token_ids, const std::string& source) {
  Vocab vocab;
  vocab.source_ = source;
  vocab.load_token_ids_ = load_token_ids;
  int32_t index = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    // An element may itself hold several lines, as a file would.
    for (const NumberedLine& line : NonEmptyLines(lines[i])) {
      vocab.AddLine(line.text, static_cast<int64_t>(i) + 1, index++);
    }
  }
  vocab.ResolveSpecials();
  return vocab;
}

void Vocab::AddLine(std::string_view line, int64_t line_number, int32_t index) {
  const std::size_t tab = line.find('\t');
  const std::string_view token = line.substr(0, tab);
  int32_t id = index;
  if (load_token_ids_) {
    if (tab == std::string_view::npos) {
      throw std::invalid_argument(
          Where(source_, line_number) +
          "expected 'token<TAB>id' (load_token_ids_from_vocab is on), found "
          "no TAB in '" + std::string(line) + "'");
    }
    std::string_view column = line.substr(tab + 1);
    column = column.substr(0, column.find('\t'));
    if (!ParseInt32(column, &id)) {
      throw std::invalid_argument(Where(source_, line_number) +
                                  "expected an int32 id in column 2, found '" +
                                  std::string(column) + "'");
    }
  }
  const std::string_view stored = storage_.emplace_back(token);
  token_to_id_[stored] = id;
  id_to_token_[id] = stored;
}

void Vocab::ResolveSpecials() {
  const bool lower = Contains("<s>");
  const char* required[3] = {"<s>", "</s>", "<unk>"};
  const char* forbidden[3] = {"<S>", "</S>", "<UNK>"};
  if (!lower) {
    std::swap(required, forbidden);
  }
  for (const char* token : required) {
    if (!Contains(token)) {
      throw std::invalid_argument(source_ + ": " + token +
                                  " is not found in the vocab.");
    }
  }
  for (const char* token : forbidden) {
    if (Contains(token)) {
      throw std::invalid_argument(source_ + ": Invalid token " + token +
                                  " is found in the vocab.");
    }
  }
  sos_id_ = TokenToId(required[0]);
  eos_id_ = TokenToId(required[1]);
  unk_token_ = required[2];
  unk_id_ = token_to_id_.at(unk_token_);
  sow_id_ = Contains("<sow>") ? TokenToId("<sow>") : -1;
  eow_id_ = Contains("<eow>") ? TokenToId("<eow>") : -1;
}

int32_t Vocab::TokenToId(std::string_view token) const {
  const auto it = token_to_id_.find(token);
  return it == token_to_id_.end() ? unk_id_ : it->second;
}

std::string_view Vocab::IdToToken(int32_t id) const {
  const auto it = id_to_token_.find(id);
  return it == id_to_token_.end() ? std::string_view(unk_token_) : it->second;
}

bool Vocab::Contains(std::string_view token) const {
  return token_to_id_.count(token) > 0;
}

TokenBatch LayOutTokenRows(const std::vector<std::vector<int32_t>>& rows,
                           int32_t sos_id, int32_t eos_id, bool append_eos,
                           int64_t maxlen, bool pad_to_maxlen,
                           bool eos_counts_only_if_appended) {
  if (maxlen < 1) {
    throw std::invalid_argument("maxlen must be >= 1, got " +
                                std::to_string(maxlen));
  }
  TokenBatch out;
  out.batch = static_cast<int64_t>(rows.size());
  out.width = pad_to_maxlen ? maxlen : 0;
  if (!pad_to_maxlen) {
    const int64_t eos_slot =
        (append_eos || !eos_counts_only_if_appended) ? 1 : 0;
    for (const auto& row : rows) {
      out.width = std::max(
          out.width,
          std::min(static_cast<int64_t>(row.size()) + eos_slot, maxlen));
    }
  }
  const auto cells = static_cast<std::size_t>(out.batch * out.width);
  out.token_ids.assign(cells, eos_id);
  out.target_ids.assign(cells, eos_id);
  out.paddings.assign(cells, 1.0f);
  for (int64_t b = 0; b < out.batch; ++b) {
    const auto& row = rows[static_cast<std::size_t>(b)];
    const int64_t n = static_cast<int64_t>(row.size());
    int32_t* tokens = out.token_ids.data() + b * out.width;
    int32_t* targets = out.target_ids.data() + b * out.width;
    float* paddings = out.paddings.data() + b * out.width;
    // The width never cuts a row short of its used length, so only maxlen
    // truncates.
    const int64_t kept = std::min(n, maxlen);
    if (out.width > 0) tokens[0] = sos_id;
    for (int64_t k = 0; k < kept; ++k) {
      targets[k] = row[static_cast<std::size_t>(k)];
      paddings[k] = 0.0f;
      if (k + 1 < out.width) tokens[k + 1] = row[static_cast<std::size_t>(k)];
    }
    // targets[n] is already eos; it counts as real only when appended.
    if (n < maxlen && append_eos) paddings[n] = 0.0f;
  }
  return out;
}

std::vector<std::string_view> SplitTokens(std::string_view label,
                                          std::string_view delimiter) {
  std::vector<std::string_view> tokens;
  if (delimiter.empty()) {
    for (std::size_t i = 0; i < label.size(); ++i) tokens.push_back(label.substr(i, 1));
    return tokens;
  }
  std::size_t start = 0;
  while (start <= label.size()) {
    std::size_t end = label.find_first_of(delimiter, start);
    if (end == std::string_view::npos) end = label.size();
    const std::string_view piece = label.substr(start, end - start);
    if (std::any_of(piece.begin(), piece.end(),
                    [](char c) { return !IsAsciiSpace(c); })) {
      tokens.push_back(piece);
    }
    start = end + 1;
  }
  return tokens;
}

TokenBatch StrToVocabTokens(const std::vector<std::string>& labels,
                            const Vocab& vocab, bool append_eos,
                            int64_t maxlen, bool pad_to_maxlen,
                            std::string_view delimiter) {
  if (maxlen < 1) {
    throw std::invalid_argument("maxlen must be >= 1, got " +
                                std::to_string(maxlen));
  }
  std::vector<std::vector<int32_t>> rows(labels.size());
  for (std::size_t b = 0; b < labels.size(); ++b) {
    for (std::string_view token : SplitTokens(labels[b], delimiter)) {
      // Tokens past maxlen are cut anyway; do not look them up.
      if (static_cast<int64_t>(rows[b].size()) >= maxlen) break;
      rows[b].push_back(vocab.TokenToId(token));
    }
  }
  return LayOutTokenRows(rows, vocab.sos_id(), vocab.eos_id(), append_eos,
                         maxlen, pad_to_maxlen);
}

RaggedIds TokenizeToIds(const std::vector<std::string>& labels,
                        const Vocab& vocab, std::string_view delimiter) {
  RaggedIds out;
  out.lengths.reserve(labels.size());
  for (const std::string& label : labels) {
    const std::vector<std::string_view> tokens = SplitTokens(label, delimiter);
    for (std::string_view token : tokens) out.ids.push_back(vocab.TokenToId(token));
    out.lengths.push_back(static_cast<int32_t>(tokens.size()));
  }
  return out;
}

int64_t CheckedRowLength(const int64_t* seq_lengths, int64_t b,
                         int64_t row_len) {
  const int64_t len = std::max<int64_t>(0, seq_lengths[b]);
  if (len > row_len) {
    throw std::invalid_argument(
        "seq_lengths[" + std::to_string(b) + "] = " + std::to_string(len) +
        " exceeds the row length " + std::to_string(row_len) +
        " of token_ids");
  }
  return len;
}

int32_t CheckedId(int64_t id, const char* what) {
  if (id < std::numeric_limits<int32_t>::min() ||
      id > std::numeric_limits<int32_t>::max()) {
    throw std::invalid_argument(std::string(what) + " holds " +
                                std::to_string(id) +
                                ", which does not fit in int32");
  }
  return static_cast<int32_t>(id);
}

std::vector<std::string> NgramIdToToken(const Vocab& vocab,
                                        const int64_t* token_ids,
                                        int64_t batch, int64_t row_len,
                                        const int64_t* seq_lengths,
                                        std::string_view separator) {
  std::vector<std::string> out(static_cast<std::size_t>(batch));
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t len = CheckedRowLength(seq_lengths, b, row_len);
    std::string& text = out[static_cast<std::size_t>(b)];
    for (int64_t k = 0; k < len; ++k) {
      if (k > 0) text.append(separator);
      text.append(vocab.IdToToken(CheckedId(token_ids[b * row_len + k], "token_ids")));
    }
  }
  return out;
}

}  // namespace lingvo::ops::text
