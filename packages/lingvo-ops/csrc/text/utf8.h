// UTF-8 decoding and the Unicode letter/digit test the text kernels share.
#ifndef LINGVO_OPS_TEXT_UTF8_H_
#define LINGVO_OPS_TEXT_UTF8_H_

#include <cstddef>
#include <string_view>

namespace lingvo::ops::text {

inline constexpr char32_t kReplacementChar = 0xFFFD;

// Decodes the character at the start of non-empty `text`: sets *size to the
// bytes it spans and returns its code point. An ill-formed sequence gives
// U+FFFD spanning its maximal well-formed prefix (at least one byte), the
// substitution TensorFlow's unicode ops make.
char32_t DecodeUtf8(std::string_view text, std::size_t* size);

// True when the general category of `cp` is a letter (L*) or a decimal
// digit (Nd).
bool IsUnicodeAlnum(char32_t cp);

}  // namespace lingvo::ops::text

#endif  // LINGVO_OPS_TEXT_UTF8_H_
