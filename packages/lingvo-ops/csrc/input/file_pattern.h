// File patterns: `<type>:<pattern>[,<pattern>...]`, with globs and sharded
// names (`name@16`, `name@*`).
#ifndef LINGVO_OPS_INPUT_FILE_PATTERN_H_
#define LINGVO_OPS_INPUT_FILE_PATTERN_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "input/record_io.h"
#include "input/record_types.h"

namespace lingvo::ops::input {

// Splits `pattern` into (type, rest): the type is the text before the first
// ':' when no '/' comes before that colon, else empty ("/a:b" has no type).
std::pair<std::string, std::string> SplitTypePrefix(std::string_view pattern);

// Expands a sharded file spec when '@' follows the last '/':
// "name@N<suffix>" -> "name-?????-of-0000N<suffix>" (N in 1..99999) and
// "name@*<suffix>" -> "name-?????-of-?????<suffix>". Other names are returned
// unchanged. Throws InvalidArgumentError for a bad shard count.
std::string ExpandShardedSpec(std::string_view name);

// A parsed pattern: how to open its files and the files in sorted order (for
// iota, the single pseudo-file is the count).
struct ParsedPattern {
  // The built-in format (kText for text_indirect); unused for custom types.
  RecordFormat format = RecordFormat::kText;
  std::vector<std::string> files;
  ReaderFactory open;
  // text_indirect: parse again at every epoch to pick up a new version.
  bool reparse_each_epoch = false;
};

// Parses `<type>:a,b*,c@4`: each comma-separated element containing one of
// `* ? [ ]` or a shard spec is globbed, else it is a file that must exist.
// `text_indirect:f[,g]` reads text lines from the files that each
// VersionedFileSet file lists (see versioned_file_set.h). A custom type (see
// record_types.h) uses its own pattern parser when it has one. Files are
// sorted, duplicates removed. Throws InvalidArgumentError for a missing or
// unknown type (the message lists the registered ones), a malformed
// VersionedFileSet or a glob without matches ("Found no files at ..."),
// NotFoundError for a missing literal file.
ParsedPattern ParseFilePattern(std::string_view pattern);

}  // namespace lingvo::ops::input

#endif  // LINGVO_OPS_INPUT_FILE_PATTERN_H_
