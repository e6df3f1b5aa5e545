// BestStep over text histories and TF event files; see best_step.h.
#include "metrics/best_step.h"

#include <glob.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <vector>

#include "input/record_io.h"

namespace lingvo::ops::metrics {

namespace {

// A minimal reader of the protobuf wire format, enough for the few Event
// fields BestStep needs, so the package needs no protobuf library.
class WireReader {
 public:
  WireReader(std::string_view data, const std::string& where)
      : data_(data), where_(where) {}

  bool Done() const { return pos_ >= data_.size(); }

  // Reads a field key; returns false at the end of the message.
  bool NextField(uint32_t* field, uint32_t* wire_type) {
    if (Done()) return false;
    const uint64_t key = Varint();
    *field = static_cast<uint32_t>(key >> 3);
    *wire_type = static_cast<uint32_t>(key & 7);
    return true;
  }

  uint64_t Varint() {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (Done()) Fail("truncated varint");
      const auto b = static_cast<unsigned char>(data_[pos_++]);
      value |= static_cast<uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) return value;
    }
    Fail("varint longer than 10 bytes");
  }

  std::string_view Bytes() {
    const uint64_t size = Varint();
    if (size > data_.size() - pos_) Fail("truncated length-delimited field");
    std::string_view out = data_.substr(pos_, static_cast<size_t>(size));
    pos_ += static_cast<size_t>(size);
    return out;
  }

  uint32_t Fixed32() {
    if (data_.size() - pos_ < 4) Fail("truncated fixed32 field");
    uint32_t value = 0;
    for (int k = 3; k >= 0; --k) {
      value = (value << 8) | static_cast<unsigned char>(data_[pos_ + k]);
    }
    pos_ += 4;
    return value;
  }

  void Skip(uint32_t wire_type) {
    switch (wire_type) {
      case 0:
        Varint();
        return;
      case 1:
        if (data_.size() - pos_ < 8) Fail("truncated fixed64 field");
        pos_ += 8;
        return;
      case 2:
        Bytes();
        return;
      case 5:
        Fixed32();
        return;
      default:
        Fail("unsupported wire type " + std::to_string(wire_type));
    }
  }

 private:
  [[noreturn]] void Fail(const std::string& what) const {
    throw std::invalid_argument("malformed Event proto in " + where_ + ": " +
                                what);
  }

  std::string_view data_;
  const std::string& where_;
  size_t pos_ = 0;
};

// The simple_value of `metric` in a Summary message, if it has one.
bool FindSimpleValue(std::string_view summary, std::string_view metric,
                     const std::string& where, float* value) {
  WireReader reader(summary, where);
  uint32_t field = 0;
  uint32_t wire = 0;
  while (reader.NextField(&field, &wire)) {
    if (field != 1 || wire != 2) {  // Summary.value
      reader.Skip(wire);
      continue;
    }
    WireReader item(reader.Bytes(), where);
    std::string_view tag;
    bool has_value = false;
    float simple_value = 0;
    while (item.NextField(&field, &wire)) {
      if (field == 1 && wire == 2) {  // Value.tag
        tag = item.Bytes();
      } else if (field == 2 && wire == 5) {  // Value.simple_value
        const uint32_t bits = item.Fixed32();
        std::memcpy(&simple_value, &bits, sizeof(bits));
        has_value = true;
      } else {
        item.Skip(wire);
      }
    }
    if (has_value && tag == metric) {
      *value = simple_value;
      return true;
    }
  }
  return false;
}

std::vector<std::string> GlobFiles(const std::string& pattern) {
  glob_t g{};
  std::vector<std::string> files;
  if (glob(pattern.c_str(), 0, nullptr, &g) == 0) {
    for (size_t i = 0; i < g.gl_pathc; ++i) files.emplace_back(g.gl_pathv[i]);
  }
  globfree(&g);
  return files;  // glob(3) sorts its matches.
}

}  // namespace

void ReadEventHistory(const std::string& path, std::string_view metric,
                      std::map<int64_t, float>* history) {
  auto reader = input::OpenRecordReader(input::RecordFormat::kTfRecord, path);
  std::string record;
  int64_t index = 0;
  while (reader->Next(&record)) {
    const std::string where = path + " (record " + std::to_string(index++) + ")";
    WireReader event(record, where);
    int64_t step = 0;
    bool has_value = false;
    float value = 0;
    uint32_t field = 0;
    uint32_t wire = 0;
    while (event.NextField(&field, &wire)) {
      if (field == 2 && wire == 0) {  // Event.step
        step = static_cast<int64_t>(event.Varint());
      } else if (field == 5 && wire == 2) {  // Event.summary
        has_value = FindSimpleValue(event.Bytes(), metric, where, &value) ||
                    has_value;
      } else {
        event.Skip(wire);
      }
    }
    if (has_value) history->emplace(step, value);
  }
}

bool ReadTextHistory(const std::string& path,
                     std::map<int64_t, float>* history) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::string line;
  int64_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.empty()) continue;
    const auto fail = [&]() {
      throw std::invalid_argument(
          path + ":" + std::to_string(line_number) +
          ": expected \"<step> <value>\" separated by one space, got \"" +
          line + "\"");
    };
    const size_t space = line.find(' ');
    if (space == std::string::npos || space == 0 ||
        line.find(' ', space + 1) != std::string::npos) {
      fail();
    }
    const std::string step_text = line.substr(0, space);
    const std::string value_text = line.substr(space + 1);
    char* end = nullptr;
    errno = 0;
    const long long step = std::strtoll(step_text.c_str(), &end, 10);
    if (errno != 0 || *end != '\0') fail();
    errno = 0;
    const float value = std::strtof(value_text.c_str(), &end);
    if (value_text.empty() || errno == ERANGE || *end != '\0') fail();
    history->emplace(static_cast<int64_t>(step), value);
  }
  return true;
}

BestStepResult BestStep(const std::string& hist_file, float tol, bool minimize,
                        const std::string& metric) {
  if (!(tol >= 0)) {
    throw std::invalid_argument("tol must be >= 0, got " + std::to_string(tol));
  }
  BestStepResult result;
  std::map<int64_t, float> history;
  if (hist_file.find("events.out.tfevents") != std::string::npos) {
    for (const std::string& file : GlobFiles(hist_file)) {
      result.found = true;
      ReadEventHistory(file, metric, &history);
    }
  } else if (!hist_file.empty()) {
    result.found = ReadTextHistory(hist_file, &history);
  }
  float best_value = 0;
  for (const auto& [step, raw] : history) {
    const float value = minimize ? raw : -raw;
    result.last_step = step;
    if (result.best_step == 0 || value + tol < best_value) {
      result.best_step = step;
      best_value = value;
    }
  }
  return result;
}

}  // namespace lingvo::ops::metrics
