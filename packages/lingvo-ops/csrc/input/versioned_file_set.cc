// A small recursive-descent reader of the VersionedFileSet text format.
#include "input/versioned_file_set.h"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "input/errors.h"

namespace lingvo::ops::input {
namespace {

enum class Tok { kEnd, kIdent, kString, kNumber, kPunct };

class TextFormatReader {
 public:
  TextFormatReader(std::string_view text, const std::string& source)
      : text_(text), source_(source) {
    Advance();
  }

  std::vector<std::string> Parse() {
    bool seen_current = false;
    while (tok_ != Tok::kEnd) {
      const std::string field = ExpectIdent();
      if (field == "current") {
        if (seen_current) Fail("field 'current' is specified more than once");
        seen_current = true;
        ParseFileSet(&patterns_);
      } else if (field == "history") {
        std::vector<std::string> ignored;
        if (IsPunct(':')) Advance();
        if (IsPunct('[')) {
          Advance();
          while (!IsPunct(']')) {
            ParseFileSetBody(&ignored);
            if (IsPunct(',')) Advance();
          }
          Advance();
        } else {
          ParseFileSetBody(&ignored);
        }
      } else {
        Fail("unknown field '" + field + "' in VersionedFileSet (expected current or history)");
      }
      SkipSeparator();
    }
    if (patterns_.empty()) {
      throw InvalidArgumentError(source_ + ": the VersionedFileSet has no current.file_pattern");
    }
    return std::move(patterns_);
  }

 private:
  [[noreturn]] void Fail(const std::string& what) const {
    throw InvalidArgumentError(source_ + ":" + std::to_string(tok_line_) + ": " + what);
  }

  bool IsPunct(char c) const { return tok_ == Tok::kPunct && value_[0] == c; }

  std::string Describe() const {
    switch (tok_) {
      case Tok::kEnd:
        return "the end of the file";
      case Tok::kString:
        return "a string";
      default:
        return "'" + value_ + "'";
    }
  }

  std::string ExpectIdent() {
    if (tok_ != Tok::kIdent) Fail("expected a field name, found " + Describe());
    std::string name = value_;
    Advance();
    return name;
  }

  void SkipSeparator() {
    if (IsPunct(',') || IsPunct(';')) Advance();
  }

  void ParseFileSet(std::vector<std::string>* patterns) {
    if (IsPunct(':')) Advance();
    ParseFileSetBody(patterns);
  }

  void ParseFileSetBody(std::vector<std::string>* patterns) {
    char close;
    if (IsPunct('{')) {
      close = '}';
    } else if (IsPunct('<')) {
      close = '>';
    } else {
      Fail("expected '{' or '<' to open a FileSet, found " + Describe());
    }
    Advance();
    while (!IsPunct(close)) {
      if (tok_ == Tok::kEnd) Fail(std::string("expected '") + close + "' to close the FileSet");
      const std::string field = ExpectIdent();
      if (!IsPunct(':')) Fail("expected ':' after '" + field + "', found " + Describe());
      Advance();
      if (field == "file_pattern") {
        if (IsPunct('[')) {
          Advance();
          while (!IsPunct(']')) {
            patterns->push_back(ExpectString());
            if (IsPunct(',')) {
              Advance();
            } else if (!IsPunct(']')) {
              Fail("expected ',' or ']' in the file_pattern list, found " + Describe());
            }
          }
          Advance();
        } else {
          patterns->push_back(ExpectString());
        }
      } else if (field == "create_timestamp") {
        if (tok_ != Tok::kNumber) Fail("create_timestamp needs a number, found " + Describe());
        Advance();
      } else {
        Fail("unknown field '" + field + "' in FileSet (expected file_pattern or create_timestamp)");
      }
      SkipSeparator();
    }
    Advance();
  }

  std::string ExpectString() {
    if (tok_ != Tok::kString) Fail("file_pattern needs a quoted string, found " + Describe());
    std::string s = value_;
    Advance();
    while (tok_ == Tok::kString) {  // Adjacent strings are one value.
      s += value_;
      Advance();
    }
    return s;
  }

  void SkipSpaceAndComments() {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == '\n') {
        ++line_;
        ++pos_;
      } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
        ++pos_;
      } else if (c == '#') {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
      } else {
        break;
      }
    }
  }

  // 'c' for printable ASCII, else the byte as 0xNN (messages stay valid UTF-8).
  static std::string Quote(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) return std::string("'") + c + "'";
    static const char* hex = "0123456789abcdef";
    return std::string("byte 0x") + hex[u >> 4] + hex[u & 15];
  }

  static bool IsIdentChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_';
  }

  void Advance() {
    SkipSpaceAndComments();
    tok_line_ = line_;
    value_.clear();
    if (pos_ >= text_.size()) {
      tok_ = Tok::kEnd;
      return;
    }
    const char c = text_[pos_];
    if (c == '"' || c == '\'') {
      tok_ = Tok::kString;
      ReadString(c);
    } else if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.') {
      tok_ = Tok::kNumber;
      while (pos_ < text_.size() &&
             (IsIdentChar(text_[pos_]) || text_[pos_] == '.' || text_[pos_] == '-' ||
              text_[pos_] == '+')) {
        value_ += text_[pos_++];
      }
    } else if (IsIdentChar(c)) {
      tok_ = Tok::kIdent;
      while (pos_ < text_.size() && IsIdentChar(text_[pos_])) value_ += text_[pos_++];
      // inf / nan are numbers where a value is expected.
      if (value_ == "inf" || value_ == "nan" || value_ == "infinity") tok_ = Tok::kNumber;
    } else if (std::strchr("{}<>[]:,;", c) != nullptr) {
      tok_ = Tok::kPunct;
      value_ = std::string(1, c);
      ++pos_;
    } else {
      Fail("unexpected character " + Quote(c));
    }
  }

  void ReadString(char quote) {
    ++pos_;
    for (;;) {
      if (pos_ >= text_.size() || text_[pos_] == '\n') Fail("unterminated string");
      const char c = text_[pos_++];
      if (c == quote) return;
      if (c != '\\') {
        value_ += c;
        continue;
      }
      if (pos_ >= text_.size()) Fail("unterminated string");
      const char e = text_[pos_++];
      switch (e) {
        case 'n': value_ += '\n'; break;
        case 't': value_ += '\t'; break;
        case 'r': value_ += '\r'; break;
        case 'a': value_ += '\a'; break;
        case 'b': value_ += '\b'; break;
        case 'f': value_ += '\f'; break;
        case 'v': value_ += '\v'; break;
        case '\\': case '\'': case '"': case '?': value_ += e; break;
        case 'x': {
          int v = 0, digits = 0;
          while (digits < 2 && pos_ < text_.size() && std::isxdigit(static_cast<unsigned char>(text_[pos_]))) {
            const char h = text_[pos_++];
            v = v * 16 + (h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
            ++digits;
          }
          if (digits == 0) Fail("'\\x' needs a hex digit");
          value_ += static_cast<char>(v);
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            int v = e - '0', digits = 1;
            while (digits < 3 && pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '7') {
              v = v * 8 + (text_[pos_++] - '0');
              ++digits;
            }
            value_ += static_cast<char>(v);
          } else {
            const auto u = static_cast<unsigned char>(e);
            Fail(u >= 0x20 && u < 0x7f
                     ? std::string("unknown escape '\\") + e + "' in a string"
                     : "unknown escape: '\\' followed by " + Quote(e) + " in a string");
          }
      }
    }
  }

  std::string_view text_;
  const std::string& source_;
  size_t pos_ = 0;
  int line_ = 1;
  int tok_line_ = 1;
  Tok tok_ = Tok::kEnd;
  std::string value_;
  std::vector<std::string> patterns_;
};

}  // namespace

std::vector<std::string> ParseVersionedFileSet(std::string_view text, const std::string& source) {
  return TextFormatReader(text, source).Parse();
}

std::vector<std::string> ReadVersionedFileSetPatterns(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    if (err == ENOENT) throw NotFoundError("No such VersionedFileSet file: '" + path + "'");
    throw IoError("Cannot open the VersionedFileSet file '" + path + "': " + std::strerror(err));
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  std::vector<std::string> patterns = ParseVersionedFileSet(buffer.str(), path);
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  for (std::string& p : patterns) {
    if (!p.empty() && p[0] != '/') p = dir + p;
  }
  return patterns;
}

}  // namespace lingvo::ops::input
