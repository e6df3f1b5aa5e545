#include "text/utf8.h"

#include <algorithm>
#include <cstdint>
#include <iterator>

namespace lingvo::ops::text {
namespace {

struct Range {
  char32_t first;
  char32_t last;
};

constexpr Range kAlnumRanges[] = {
#include "text/unicode_alnum_ranges.inc"
};

}  // namespace

char32_t DecodeUtf8(std::string_view text, std::size_t* size) {
  const auto byte = [&](std::size_t i) {
    return static_cast<unsigned char>(text[i]);
  };
  const unsigned char lead = byte(0);
  *size = 1;
  if (lead < 0x80) return lead;
  // Length and the allowed range of the second byte (Unicode table 3-7).
  std::size_t length = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  char32_t cp = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    cp = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    cp = lead & 0x0F;
    if (lead == 0xE0) lo = 0xA0;
    if (lead == 0xED) hi = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    cp = lead & 0x07;
    if (lead == 0xF0) lo = 0x90;
    if (lead == 0xF4) hi = 0x8F;
  } else {
    return kReplacementChar;
  }
  for (std::size_t i = 1; i < length; ++i) {
    if (i >= text.size() || byte(i) < lo || byte(i) > hi) {
      *size = i;
      return kReplacementChar;
    }
    cp = (cp << 6) | (byte(i) & 0x3F);
    lo = 0x80;
    hi = 0xBF;
  }
  *size = length;
  return cp;
}

bool IsUnicodeAlnum(char32_t cp) {
  const auto it = std::upper_bound(
      std::begin(kAlnumRanges), std::end(kAlnumRanges), cp,
      [](char32_t value, const Range& r) { return value < r.first; });
  return it != std::begin(kAlnumRanges) && cp <= std::prev(it)->last;
}

}  // namespace lingvo::ops::text
