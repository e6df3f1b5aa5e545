// Reading the small text files (vocabularies, word maps) the text kernels load.
//
// Plain C++17: no Python, no pybind11 and no TensorFlow.
#ifndef LINGVO_OPS_TEXT_TEXT_FILE_H_
#define LINGVO_OPS_TEXT_TEXT_FILE_H_

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace lingvo::ops::text {

// No file matches a path or pattern; Python FileNotFoundError.
class FileNotFoundError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A file exists but cannot be read; Python OSError.
class FileReadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The path and contents of the one file that `pattern` names.
struct TextFile {
  std::string path;
  std::string contents;
};

// Reads the file that the glob `pattern` matches. Lingvo's vocabulary ops
// accept a glob as long as it names exactly one file; a plain path is a glob
// that matches itself.
//
// Throws FileNotFoundError when nothing matches, std::invalid_argument when
// several files match ("Did not match exactly one file with pattern: ..."),
// FileReadError when reading fails.
TextFile ReadSingleFile(const std::string& pattern);

// The one file that the glob `pattern` matches; the same errors as
// ReadSingleFile except FileReadError.
std::string ResolveSingleFile(const std::string& pattern);

// What tells one version of a file from another: its modification time
// (nanoseconds on the file system's clock) and size.
struct FileStamp {
  int64_t mtime = 0;
  uint64_t size = 0;
  bool operator==(const FileStamp& other) const {
    return mtime == other.mtime && size == other.size;
  }
};

// The stamp of `path`; throws FileReadError when it cannot be read.
FileStamp StampOf(const std::string& path);

// Now, on the clock of FileStamp::mtime (nanoseconds).
int64_t FileClockNow();

// One line of a file, without its '\n', and its 1-based number.
struct NumberedLine {
  std::string_view text;
  int64_t number;
};

// Splits `contents` on '\n' only (a '\r' stays part of its line, as in
// Lingvo), dropping empty lines. The views point into `contents`.
std::vector<NumberedLine> NonEmptyLines(std::string_view contents);

// "<path>:<line>: " for error messages.
std::string Where(std::string_view path, int64_t line);

// Parses a whole string as a decimal int32, allowing surrounding ASCII
// whitespace; false when it is not one or does not fit.
bool ParseInt32(std::string_view text, int32_t* value);

// True for the bytes Lingvo's splitting treats as whitespace: " \t\n\v\f\r".
constexpr bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
         c == '\r';
}

}  // namespace lingvo::ops::text

#endif  // LINGVO_OPS_TEXT_TEXT_FILE_H_
