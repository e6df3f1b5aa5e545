// Objects loaded from files (vocabularies, word maps), kept while their file
// is unchanged, so that ops taking a file path do not re-read it per call.
//
// Plain C++17: no Python, no pybind11 and no TensorFlow.
#ifndef LINGVO_OPS_TEXT_FILE_CACHE_H_
#define LINGVO_OPS_TEXT_FILE_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "text/text_file.h"

namespace lingvo::ops::text {

struct FileCacheStats {
  int64_t hits = 0;   // calls answered from the cache
  int64_t loads = 0;  // calls that read the file
};

// A small least-recently-used cache of T loaded from files, keyed by the file
// a pattern resolves to, its FileStamp (modification time and size) and a
// `variant` string for load options. Every Get stats the file, so a changed
// file (new time or size) is read again; a file that disappeared raises as
// the loader would. Safe to share between threads; loading runs unlocked.
//
// File times advance in ticks of the kernel clock (milliseconds), so a file
// rewritten at the same size within one tick of being read keeps its stamp.
// As git does with "racily clean" files, an entry is trusted only when its
// file was already kSettleNs old when it was read; a younger file is read
// again on every call until it has settled.
template <typename T>
class FileCache {
 public:
  // How old a file must be for its stamp to identify its contents.
  static constexpr int64_t kSettleNs = 2'000'000'000;

  explicit FileCache(std::size_t capacity)
      : capacity_(capacity > 0 ? capacity : 1) {}

  // The object for `pattern` (a path or a glob naming one file), from the
  // cache or from `load(pattern)`.
  template <typename Load>
  std::shared_ptr<const T> Get(const std::string& pattern,
                               const std::string& variant, Load&& load) {
    const std::string path = ResolveSingleFile(pattern);
    const FileStamp stamp = StampOf(path);
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (Entry& e : entries_) {
        if (e.settled && e.path == path && e.variant == variant && e.stamp == stamp) {
          e.last_use = ++clock_;
          ++stats_.hits;
          return e.value;
        }
      }
    }
    const bool settled = FileClockNow() - stamp.mtime > kSettleNs;
    auto value = std::make_shared<const T>(load(pattern));
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.loads;
    // A stale version of the same file and options is never useful again.
    for (auto it = entries_.begin(); it != entries_.end();) {
      it = it->path == path && it->variant == variant ? entries_.erase(it) : it + 1;
    }
    if (entries_.size() >= capacity_) {
      auto oldest = entries_.begin();
      for (auto it = entries_.begin(); it != entries_.end(); ++it) {
        if (it->last_use < oldest->last_use) oldest = it;
      }
      entries_.erase(oldest);
    }
    entries_.push_back(Entry{path, variant, stamp, settled, value, ++clock_});
    return value;
  }

  FileCacheStats stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }

  void Clear() {
    std::lock_guard<std::mutex> lock(mu_);
    entries_.clear();
  }

 private:
  struct Entry {
    std::string path;
    std::string variant;
    FileStamp stamp;
    bool settled = false;  // the file was kSettleNs old when read
    std::shared_ptr<const T> value;
    uint64_t last_use = 0;
  };

  const std::size_t capacity_;
  mutable std::mutex mu_;
  std::vector<Entry> entries_;
  uint64_t clock_ = 0;
  FileCacheStats stats_;
};

}  // namespace lingvo::ops::text

#endif  // LINGVO_OPS_TEXT_FILE_CACHE_H_
