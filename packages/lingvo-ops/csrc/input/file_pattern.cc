// File-pattern parsing and globbing (POSIX glob(3)).
#include "input/file_pattern.h"

#include <glob.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>

#include "input/errors.h"
#include "input/versioned_file_set.h"

namespace lingvo::ops::input {
namespace {

bool IsGlob(std::string_view s) {
  return s.find_first_of("*?[]") != std::string_view::npos;
}

std::vector<std::string> Glob(const std::string& pattern) {
  glob_t g{};
  const int rc = glob(pattern.c_str(), 0, nullptr, &g);
  std::vector<std::string> out;
  if (rc == 0) {
    for (size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
  }
  globfree(&g);
  if (rc != 0 && rc != GLOB_NOMATCH) {
    throw IoError("Cannot expand the file pattern '" + pattern + "'");
  }
  // Directories are not record files.
  out.erase(std::remove_if(out.begin(), out.end(),
                           [](const std::string& p) {
                             struct stat st{};
                             return stat(p.c_str(), &st) == 0 &&
                                    S_ISDIR(st.st_mode);
                           }),
            out.end());
  return out;
}

std::vector<std::string> Split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t end = s.find(sep, start);
    out.emplace_back(s.substr(start, end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

}  // namespace

std::pair<std::string, std::string> SplitTypePrefix(std::string_view pattern) {
  const size_t colon = pattern.find(':');
  if (colon == std::string_view::npos) return {"", std::string(pattern)};
  const size_t slash = pattern.find('/');
  if (slash != std::string_view::npos && slash < colon) {
    return {"", std::string(pattern)};
  }
  return {std::string(pattern.substr(0, colon)),
          std::string(pattern.substr(colon + 1))};
}

std::string ExpandShardedSpec(std::string_view name) {
  const size_t at = name.rfind('@');
  const size_t slash = name.rfind('/');
  if (at == std::string_view::npos ||
      (slash != std::string_view::npos && at < slash)) {
    return std::string(name);
  }
  const std::string base(name.substr(0, at));
  std::string_view rest = name.substr(at + 1);
  if (!rest.empty() && rest[0] == '*') {
    // Split literals: "??-" would read as a trigraph to older compilers.
    return base + "-?????" "-of-" "?????" + std::string(rest.substr(1));
  }
  size_t digits = 0;
  while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') {
    ++digits;
  }
  const long count =
      digits == 0 || digits > 5 ? 0 : std::stol(std::string(rest.substr(0, digits)));
  if (count <= 0) {
    throw InvalidArgumentError(
        "The number of shards should be non-zero and not exceed 5 digits, in "
        "'" + std::string(name) + "'");
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%05ld", count);
  return base + "-?????" "-of-" + buf + std::string(rest.substr(digits));
}

namespace {

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// One element of a pattern: a glob or sharded spec (must match something) or
// a literal file (must exist).
void AddElement(const std::string& element, std::string_view pattern,
                std::vector<std::string>* files) {
  if (element.empty()) {
    throw InvalidArgumentError("The file pattern '" + std::string(pattern) +
                               "' has an empty element");
  }
  const std::string expanded = ExpandShardedSpec(element);
  if (expanded != element || IsGlob(expanded)) {
    std::vector<std::string> matches = Glob(expanded);
    if (matches.empty()) {
      throw InvalidArgumentError("Found no files at '" + expanded + "'.");
    }
    files->insert(files->end(), matches.begin(), matches.end());
  } else {
    struct stat st{};
    if (stat(expanded.c_str(), &st) != 0) {
      throw NotFoundError("No such file: '" + expanded + "' (in the file pattern '" +
                          std::string(pattern) + "')");
    }
    files->push_back(expanded);
  }
}

ReaderFactory BuiltinReader(RecordFormat format) {
  return [format](const std::string& path) { return OpenRecordReader(format, path); };
}

}  // namespace

ParsedPattern ParseFilePattern(std::string_view pattern) {
  auto [type, rest] = SplitTypePrefix(pattern);
  if (type.empty()) {
    throw InvalidArgumentError("The file pattern '" + std::string(pattern) +
                               "' has no record format; start it with one of: " +
                               JoinNames(RecordTypeNames()));
  }
  ParsedPattern parsed;
  if (type == "text_indirect") {
    parsed.format = RecordFormat::kText;
    parsed.open = BuiltinReader(parsed.format);
    parsed.reparse_each_epoch = true;
    for (const std::string& element : Split(rest, ',')) {
      for (const std::string& listed : ReadVersionedFileSetPatterns(element)) {
        AddElement(listed, pattern, &parsed.files);
      }
    }
  } else if (IsBuiltinRecordType(type)) {
    parsed.format = ParseRecordFormat(type);
    parsed.open = BuiltinReader(parsed.format);
    if (parsed.format == RecordFormat::kIota) {
      parsed.files.push_back(rest);
      return parsed;
    }
    for (const std::string& element : Split(rest, ',')) {
      AddElement(element, pattern, &parsed.files);
    }
  } else if (auto custom = FindRecordType(type)) {
    parsed.open = custom->open;
    if (custom->parse_pattern) {
      parsed.files = custom->parse_pattern(rest);
    } else {
      for (const std::string& element : Split(rest, ',')) {
        AddElement(element, pattern, &parsed.files);
      }
    }
  } else {
    throw InvalidArgumentError("Unable to create a record reader for format '" + type +
                               "' (in the file pattern '" + std::string(pattern) +
                               "'); registered record types: " + JoinNames(RecordTypeNames()));
  }
  std::sort(parsed.files.begin(), parsed.files.end());
  parsed.files.erase(std::unique(parsed.files.begin(), parsed.files.end()),
                     parsed.files.end());
  return parsed;
}

}  // namespace lingvo::ops::input
