#include "text/ascii_tokenizer.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <stdexcept>

namespace lingvo::ops::text {
namespace {

// Symbol of each id; the position in this array is the id.
constexpr std::array<std::string_view, kAsciiVocabSize> kSymbols = {
    "<unk>", "<s>", "</s>", " ", "<noise>",
    "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m",
    "n", "o", "p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z",
    ".", "'", "-", ":", "!", "~", "`", ";",
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9",
    "\"", "#", "$", "%", "&", "(", ")", "*", "+", ",", "/", "<", "=", ">",
    "?", "@", "[", "\\", "]", "^", "_", "{", "|", "}",
    "<epsilon>", "<text_only>", "<sorw>"};

// Multi-character symbols, in the order a match is tried. Only their first
// byte, '<', ever starts a match.
constexpr std::array<int32_t, 7> kTagIds = {0, 4, 1, 2, 73, 74, 75};

constexpr unsigned char ToLowerAscii(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<unsigned char>(c - 'A' + 'a')
                                : c;
}

// Byte -> id for every single-byte symbol; uppercase letters share the id of
// their lowercase form, everything else is <unk>.
constexpr std::array<int32_t, 256> MakeByteTable() {
  std::array<int32_t, 256> table{};
  for (auto& id : table) id = kAsciiUnkId;
  for (int32_t id = 0; id < kAsciiVocabSize; ++id) {
    if (kSymbols[id].size() == 1) {
      table[static_cast<unsigned char>(kSymbols[id][0])] = id;
    }
  }
  for (int c = 'A'; c <= 'Z'; ++c) table[c] = table[ToLowerAscii(c)];
  return table;
}

constexpr std::array<int32_t, 256> kByteToId = MakeByteTable();

// True when `text` starts with the lowercase `tag`, ignoring ASCII case.
bool StartsWithTag(std::string_view text, std::string_view tag) {
  if (text.size() < tag.size()) return false;
  for (std::size_t i = 0; i < tag.size(); ++i) {
    if (ToLowerAscii(static_cast<unsigned char>(text[i])) !=
        static_cast<unsigned char>(tag[i])) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string_view AsciiSymbol(int32_t id) {
  if (id < 0 || id >= kAsciiVocabSize) return kSymbols[kAsciiUnkId];
  return kSymbols[id];
}

void AppendAsciiIds(std::string_view text, int64_t limit,
                    std::vector<int32_t>* ids) {
  std::size_t pos = 0;
  while (pos < text.size() &&
         (limit < 0 || static_cast<int64_t>(ids->size()) < limit)) {
    std::size_t consumed = 1;
    int32_t id = kByteToId[static_cast<unsigned char>(text[pos])];
    if (text[pos] == '<') {
      const std::string_view rest = text.substr(pos);
      for (int32_t tag_id : kTagIds) {
        if (StartsWithTag(rest, kSymbols[tag_id])) {
          id = tag_id;
          consumed = kSymbols[tag_id].size();
          break;
        }
      }
    }
    ids->push_back(id);
    pos += consumed;
  }
}

std::vector<int32_t> AsciiIds(std::string_view text) {
  std::vector<int32_t> ids;
  ids.reserve(text.size());
  AppendAsciiIds(text, -1, &ids);
  return ids;
}

AsciiTokenBatch AsciiToTokenIds(const std::vector<std::string>& labels,
                                bool append_eos, int64_t maxlen,
                                bool pad_to_maxlen) {
  if (maxlen < 1) {
    throw std::invalid_argument("maxlen must be >= 1 (room for </s>), got " +
                                std::to_string(maxlen));
  }
  // Ids past maxlen - 1 are truncated away, so they are never computed.
  const int64_t keep = maxlen - 1;
  const int64_t batch = static_cast<int64_t>(labels.size());
  std::vector<std::vector<int32_t>> rows(labels.size());
  int64_t longest = 0;
  for (std::size_t b = 0; b < labels.size(); ++b) {
    rows[b].reserve(std::min<std::size_t>(labels[b].size(),
                                          static_cast<std::size_t>(keep)));
    AppendAsciiIds(labels[b], keep, &rows[b]);
    longest = std::max<int64_t>(longest, static_cast<int64_t>(rows[b].size()));
  }

  AsciiTokenBatch out;
  out.batch = batch;
  out.width = pad_to_maxlen ? maxlen : (batch > 0 ? longest + 1 : 0);
  const std::size_t total = static_cast<std::size_t>(batch * out.width);
  out.token_ids.assign(total, kAsciiEosId);
  out.target_ids.assign(total, kAsciiEosId);
  out.paddings.assign(total, 1.0f);
  for (int64_t b = 0; b < batch; ++b) {
    const std::vector<int32_t>& ids = rows[b];
    const std::size_t n = ids.size();
    int32_t* token = out.token_ids.data() + b * out.width;
    int32_t* target = out.target_ids.data() + b * out.width;
    float* padding = out.paddings.data() + b * out.width;
    token[0] = kAsciiSosId;
    std::copy(ids.begin(), ids.end(), token + 1);
    std::copy(ids.begin(), ids.end(), target);
    std::fill(padding, padding + n, 0.0f);
    // target[n] already holds </s>; only its padding depends on append_eos.
    padding[n] = append_eos ? 0.0f : 1.0f;
  }
  return out;
}

std::vector<std::string> IdToAscii(const int64_t* token_ids, int64_t batch,
                                   int64_t row_len,
                                   const int64_t* seq_lengths) {
  for (int64_t b = 0; b < batch; ++b) {
    if (seq_lengths[b] > row_len) {
      throw std::invalid_argument(
          "seq_lengths[" + std::to_string(b) + "] is " +
          std::to_string(seq_lengths[b]) +
          ", more than the number of columns of token_ids (" +
          std::to_string(row_len) + ")");
    }
  }
  std::vector<std::string> out(static_cast<std::size_t>(batch));
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t len = std::max<int64_t>(0, seq_lengths[b]);
    const int64_t* row = token_ids + b * row_len;
    std::string& text = out[b];
    text.reserve(static_cast<std::size_t>(len));
    for (int64_t j = 0; j < len; ++j) {
      const int64_t id = row[j];
      text.append(id >= 0 && id < kAsciiVocabSize
                      ? kSymbols[static_cast<std::size_t>(id)]
                      : kSymbols[kAsciiUnkId]);
    }
  }
  return out;
}

}  // namespace lingvo::ops::text
