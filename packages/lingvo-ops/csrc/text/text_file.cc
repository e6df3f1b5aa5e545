#include "text/text_file.h"

#include <glob.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

namespace lingvo::ops::text {

std::string ResolveSingleFile(const std::string& pattern) {
  glob_t g{};
  const int rc = glob(pattern.c_str(), 0, nullptr, &g);
  std::vector<std::string> matches;
  if (rc == 0) {
    for (std::size_t i = 0; i < g.gl_pathc; ++i) matches.emplace_back(g.gl_pathv[i]);
  }
  globfree(&g);
  if (matches.empty()) {
    throw FileNotFoundError("No file matches the vocabulary path " + pattern);
  }
  if (matches.size() > 1) {
    throw std::invalid_argument(
        "Did not match exactly one file with pattern: " + pattern + " (" +
        std::to_string(matches.size()) + " files match)");
  }
  return matches[0];
}

FileStamp StampOf(const std::string& path) {
  std::error_code error;
  const auto mtime = std::filesystem::last_write_time(path, error);
  if (error) throw FileReadError("Cannot stat " + path + ": " + error.message());
  const auto size = std::filesystem::file_size(path, error);
  if (error) throw FileReadError("Cannot stat " + path + ": " + error.message());
  FileStamp stamp;
  stamp.mtime = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    mtime.time_since_epoch())
                    .count();
  stamp.size = static_cast<uint64_t>(size);
  return stamp;
}

int64_t FileClockNow() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::filesystem::file_time_type::clock::now().time_since_epoch())
      .count();
}

TextFile ReadSingleFile(const std::string& pattern) {
  TextFile file;
  file.path = ResolveSingleFile(pattern);
  std::ifstream in(file.path, std::ios::binary);
  if (!in) {
    throw FileReadError("Cannot open " + file.path + ": " + std::strerror(errno));
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw FileReadError("Cannot read " + file.path);
  file.contents = std::move(buffer).str();
  return file;
}

std::vector<NumberedLine> NonEmptyLines(std::string_view contents) {
  std::vector<NumberedLine> lines;
  int64_t number = 0;
  std::size_t start = 0;
  while (start <= contents.size()) {
    std::size_t end = contents.find('\n', start);
    if (end == std::string_view::npos) end = contents.size();
    ++number;
    if (end > start) lines.push_back({contents.substr(start, end - start), number});
    start = end + 1;
  }
  return lines;
}

std::string Where(std::string_view path, int64_t line) {
  return std::string(path) + ":" + std::to_string(line) + ": ";
}

bool ParseInt32(std::string_view text, int32_t* value) {
  while (!text.empty() && IsAsciiSpace(text.front())) text.remove_prefix(1);
  while (!text.empty() && IsAsciiSpace(text.back())) text.remove_suffix(1);
  bool negative = false;
  if (!text.empty() && (text.front() == '-' || text.front() == '+')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  if (text.empty()) return false;
  int64_t magnitude = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    magnitude = magnitude * 10 + (c - '0');
    if (magnitude > int64_t{std::numeric_limits<int32_t>::max()} + 1) return false;
  }
  const int64_t result = negative ? -magnitude : magnitude;
  if (result > std::numeric_limits<int32_t>::max()) return false;
  *value = static_cast<int32_t>(result);
  return true;
}

}  // namespace lingvo::ops::text
