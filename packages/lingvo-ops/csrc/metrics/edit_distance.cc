// Levenshtein alignment with operation counts; see edit_distance.h.
#include "metrics/edit_distance.h"

#include <stdexcept>
#include <unordered_map>

namespace lingvo::ops::metrics {

namespace {

inline bool IsContinuation(unsigned char b) { return (b & 0xC0) == 0x80; }

// Decodes one well-formed UTF-8 sequence at text[i]; returns its length, or 0
// when the bytes there are not one (truncated, overlong, surrogate, or above
// U+10FFFF).
int DecodeOne(std::string_view text, size_t i, int32_t* code_point) {
  const auto b0 = static_cast<unsigned char>(text[i]);
  const size_t left = text.size() - i;
  if (b0 < 0x80) {
    *code_point = b0;
    return 1;
  }
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    if (left < 2) return 0;
    const auto b1 = static_cast<unsigned char>(text[i + 1]);
    if (!IsContinuation(b1)) return 0;
    *code_point = ((b0 & 0x1F) << 6) | (b1 & 0x3F);
    return 2;
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (left < 3) return 0;
    const auto b1 = static_cast<unsigned char>(text[i + 1]);
    const auto b2 = static_cast<unsigned char>(text[i + 2]);
    if (!IsContinuation(b1) || !IsContinuation(b2)) return 0;
    const int32_t cp = ((b0 & 0x0F) << 12) | ((b1 & 0x3F) << 6) | (b2 & 0x3F);
    if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    *code_point = cp;
    return 3;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (left < 4) return 0;
    const auto b1 = static_cast<unsigned char>(text[i + 1]);
    const auto b2 = static_cast<unsigned char>(text[i + 2]);
    const auto b3 = static_cast<unsigned char>(text[i + 3]);
    if (!IsContinuation(b1) || !IsContinuation(b2) || !IsContinuation(b3)) {
      return 0;
    }
    const int32_t cp = ((b0 & 0x07) << 18) | ((b1 & 0x3F) << 12) |
                       ((b2 & 0x3F) << 6) | (b3 & 0x3F);
    if (cp < 0x10000 || cp > 0x10FFFF) return 0;
    *code_point = cp;
    return 4;
  }
  return 0;
}

// Appends the code points of `text` to `out`, and when `starts` is given the
// byte offset each one starts at.
void Decode(std::string_view text, std::vector<int32_t>* out,
            std::vector<size_t>* starts) {
  size_t i = 0;
  while (i < text.size()) {
    int32_t cp = 0;
    int n = DecodeOne(text, i, &cp);
    if (n == 0) {
      // One escaped byte, then decoding resumes at the next byte: this gives
      // the same code points as Python's decoder, which escapes each byte of
      // the maximal invalid subpart, all of whose later bytes are
      // continuation bytes (invalid as a start anyway).
      cp = 0xDC00 + static_cast<unsigned char>(text[i]);
      n = 1;
    }
    out->push_back(cp);
    if (starts != nullptr) starts->push_back(i);
    i += static_cast<size_t>(n);
  }
}

// Maps each distinct word of a batch to a small id, so the alignment compares
// integers.
class WordIds {
 public:
  // Appends the ids of the words of `text` to `ids`. `text` must outlive this.
  void Words(std::string_view text, std::vector<int64_t>* ids) {
    code_points_.clear();
    starts_.clear();
    Decode(text, &code_points_, &starts_);
    const size_t n = code_points_.size();
    size_t k = 0;
    while (k < n) {
      while (k < n && IsPythonSpace(code_points_[k])) ++k;
      if (k == n) break;
      const size_t first = k;
      while (k < n && !IsPythonSpace(code_points_[k])) ++k;
      const size_t begin = starts_[first];
      const size_t end = k < n ? starts_[k] : text.size();
      const auto [it, inserted] = ids_.try_emplace(
          text.substr(begin, end - begin), static_cast<int64_t>(ids_.size()));
      ids->push_back(it->second);
    }
  }

 private:
  std::unordered_map<std::string_view, int64_t> ids_;
  std::vector<int32_t> code_points_;
  std::vector<size_t> starts_;
};

void CheckBatch(size_t hyps, size_t refs) {
  if (hyps != refs) {
    throw std::invalid_argument(
        "hyps and refs must have the same batch size, got " +
        std::to_string(hyps) + " hyps and " + std::to_string(refs) + " refs");
  }
}

}  // namespace

std::vector<int32_t> DecodeUtf8(std::string_view text) {
  std::vector<int32_t> out;
  out.reserve(text.size());
  Decode(text, &out, nullptr);
  return out;
}

bool IsPythonSpace(int32_t c) {
  if (c <= 0x20) return c == 0x20 || (c >= 0x09 && c <= 0x0D) || c >= 0x1C;
  if (c < 0x85) return false;
  return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
         c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

EditCounts AlignTokens(const int64_t* hyp, int64_t hyp_len, const int64_t* ref,
                       int64_t ref_len, std::vector<EditCounts>* scratch) {
  // Two rows of the (ref + 1) x (hyp + 1) table; a cell holds the counts of
  // its chosen alignment, `ref_length` being reused as the running total.
  const size_t width = static_cast<size_t>(hyp_len) + 1;
  scratch->resize(2 * width);
  EditCounts* prev = scratch->data();
  EditCounts* cur = prev + width;
  for (size_t j = 0; j < width; ++j) {
    prev[j] = EditCounts{0, static_cast<int64_t>(j), 0, static_cast<int64_t>(j)};
  }
  for (int64_t i = 1; i <= ref_len; ++i) {
    cur[0] = EditCounts{0, 0, i, i};
    const int64_t r = ref[i - 1];
    for (size_t j = 1; j < width; ++j) {
      const bool differ = r != hyp[j - 1];
      const int64_t sub = prev[j - 1].ref_length + (differ ? 1 : 0);
      const int64_t ins = cur[j - 1].ref_length + 1;
      const int64_t del = prev[j].ref_length + 1;
      EditCounts cell;
      if (sub < ins && sub < del) {
        cell = prev[j - 1];
        cell.substitutions += differ ? 1 : 0;
        cell.ref_length = sub;
      } else if (del < ins) {
        cell = prev[j];
        ++cell.deletions;
        cell.ref_length = del;
      } else {
        cell = cur[j - 1];
        ++cell.insertions;
        cell.ref_length = ins;
      }
      cur[j] = cell;
    }
    std::swap(prev, cur);
  }
  EditCounts result = prev[width - 1];
  result.ref_length = ref_len;
  return result;
}

std::vector<EditCounts> EditDistanceTexts(const std::vector<std::string>& hyps,
                                          const std::vector<std::string>& refs,
                                          Level level) {
  CheckBatch(hyps.size(), refs.size());
  std::vector<EditCounts> out(hyps.size());
  std::vector<EditCounts> scratch;
  std::vector<int64_t> hyp_ids;
  std::vector<int64_t> ref_ids;
  std::vector<int32_t> code_points;
  WordIds words;
  const auto tokens = [&](const std::string& text, std::vector<int64_t>* ids) {
    ids->clear();
    if (level == Level::kWord) {
      words.Words(text, ids);
    } else {
      code_points.clear();
      Decode(text, &code_points, nullptr);
      ids->assign(code_points.begin(), code_points.end());
    }
  };
  for (size_t b = 0; b < hyps.size(); ++b) {
    tokens(hyps[b], &hyp_ids);
    tokens(refs[b], &ref_ids);
    out[b] = AlignTokens(hyp_ids.data(), static_cast<int64_t>(hyp_ids.size()),
                         ref_ids.data(), static_cast<int64_t>(ref_ids.size()),
                         &scratch);
  }
  return out;
}

std::vector<EditCounts> EditDistanceIds(const std::vector<IdSpan>& hyps,
                                        const std::vector<IdSpan>& refs) {
  CheckBatch(hyps.size(), refs.size());
  std::vector<EditCounts> out(hyps.size());
  std::vector<EditCounts> scratch;
  for (size_t b = 0; b < hyps.size(); ++b) {
    out[b] = AlignTokens(hyps[b].data, hyps[b].size, refs[b].data, refs[b].size,
                         &scratch);
  }
  return out;
}

}  // namespace lingvo::ops::metrics
