// A process-wide, mutex-guarded map of custom record types.
#include "input/record_types.h"

#include <algorithm>
#include <map>
#include <mutex>

#include "input/errors.h"

namespace lingvo::ops::input {
namespace {

constexpr const char* kBuiltin[] = {"iota", "text", "text_indirect", "tfrecord", "tfrecord_gzip"};

struct Registry {
  std::mutex mu;
  std::map<std::string, std::shared_ptr<const CustomRecordType>, std::less<>> types;
};

Registry& GetRegistry() {
  // Leaked on purpose: reader threads may outlive static destruction order.
  static Registry* registry = new Registry;
  return *registry;
}

}  // namespace

bool IsBuiltinRecordType(std::string_view name) {
  return std::find(std::begin(kBuiltin), std::end(kBuiltin), name) != std::end(kBuiltin);
}

void RegisterRecordType(const std::string& name, CustomRecordType type) {
  if (name.empty() || name.find_first_of(":,/") != std::string::npos) {
    throw InvalidArgumentError("A record type name must be non-empty without ':', ',' or '/', got '" +
                               name + "'");
  }
  if (IsBuiltinRecordType(name)) {
    throw InvalidArgumentError("'" + name + "' is a built-in record type and cannot be replaced");
  }
  if (!type.open) throw InvalidArgumentError("Record type '" + name + "' needs a reader");
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.types[name] = std::make_shared<const CustomRecordType>(std::move(type));
}

bool UnregisterRecordType(const std::string& name) {
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  return r.types.erase(name) > 0;
}

std::shared_ptr<const CustomRecordType> FindRecordType(std::string_view name) {
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  const auto it = r.types.find(name);
  return it == r.types.end() ? nullptr : it->second;
}

std::vector<std::string> RecordTypeNames() {
  std::vector<std::string> names(std::begin(kBuiltin), std::end(kBuiltin));
  Registry& r = GetRegistry();
  {
    std::lock_guard<std::mutex> lock(r.mu);
    for (const auto& [name, type] : r.types) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace lingvo::ops::input
