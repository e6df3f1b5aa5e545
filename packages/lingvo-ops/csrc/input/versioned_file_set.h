// Reads the text-format VersionedFileSet protos behind `text_indirect:` file
// patterns, without a protobuf dependency:
//   VersionedFileSet { FileSet current = 1; repeated FileSet history = 2; }
//   FileSet { repeated string file_pattern = 1; double create_timestamp = 2; }
// The accepted text format is the subset those messages need: `name: value`
// scalars, `name { ... }` / `name: < ... >` messages, `[a, b]` lists,
// single- or double-quoted strings with C escapes (adjacent ones joined),
// optional `,`/`;` separators and `#` comments.
#ifndef LINGVO_OPS_INPUT_VERSIONED_FILE_SET_H_
#define LINGVO_OPS_INPUT_VERSIONED_FILE_SET_H_

#include <string>
#include <string_view>
#include <vector>

namespace lingvo::ops::input {

// The `current.file_pattern` entries of `text`, in order. `source` names the
// text in errors. Throws InvalidArgumentError "<source>:<line>: <problem>" for
// malformed text, unknown fields, a repeated `current`, or no
// current.file_pattern.
std::vector<std::string> ParseVersionedFileSet(std::string_view text, const std::string& source);

// Reads `path` and returns its current patterns, each made relative to the
// directory of `path` unless absolute. Throws NotFoundError / IoError when the
// file cannot be read.
std::vector<std::string> ReadVersionedFileSetPatterns(const std::string& path);

}  // namespace lingvo::ops::input

#endif  // LINGVO_OPS_INPUT_VERSIONED_FILE_SET_H_
