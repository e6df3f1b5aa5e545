// The registry of record types: the `<type>:` prefix of a file pattern names
// how its files are found (a pattern parser) and read (a reader factory).
// Built-in types: tfrecord, tfrecord_gzip, text, text_indirect, iota; users
// add their own (e.g. from Python) with RegisterRecordType.
#ifndef LINGVO_OPS_INPUT_RECORD_TYPES_H_
#define LINGVO_OPS_INPUT_RECORD_TYPES_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "input/record_io.h"

namespace lingvo::ops::input {

// Opens one file of the type.
using ReaderFactory = std::function<std::unique_ptr<RecordReader>(const std::string& path)>;
// Turns the pattern after `<type>:` into files (in any order; they are sorted).
using PatternParser = std::function<std::vector<std::string>(const std::string& pattern)>;

struct CustomRecordType {
  ReaderFactory open;
  // Empty: the default parsing (comma list of files, globs, sharded names).
  PatternParser parse_pattern;
};

// Adds or replaces a custom type. Throws InvalidArgumentError for a built-in
// name, an empty name or one containing ':', ',' or '/'.
void RegisterRecordType(const std::string& name, CustomRecordType type);

// Removes a custom type; false when there was none.
bool UnregisterRecordType(const std::string& name);

// The custom type `name`, or nullptr. Shared, so unregistering a type does not
// pull it from under a yielder that is reading it.
std::shared_ptr<const CustomRecordType> FindRecordType(std::string_view name);

// Built-in and custom type names, sorted.
std::vector<std::string> RecordTypeNames();

bool IsBuiltinRecordType(std::string_view name);

}  // namespace lingvo::ops::input

#endif  // LINGVO_OPS_INPUT_RECORD_TYPES_H_
