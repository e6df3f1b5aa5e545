// Record yielders: per-epoch reader threads, a seeded shuffle buffer, mixing.
#include "input/record_yielder.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <random>
#include <thread>
#include <utility>

#include "input/errors.h"
#include "input/file_pattern.h"
#include "input/record_io.h"

namespace lingvo::ops::input {
namespace {

// A chunk is handed from a reader thread to the consumer in one lock
// acquisition; the queue bound caps read-ahead per thread at about
// kQueueChunks * kChunkBytes.
constexpr size_t kChunkRecords = 128;
constexpr size_t kChunkBytes = 256 * 1024;
constexpr size_t kQueueChunks = 8;

using Chunk = std::vector<std::string>;

// std::uniform_int_distribution differs between standard libraries; this
// does not, so a seed gives the same order everywhere.
uint64_t UniformBelow(std::mt19937_64& rng, uint64_t n) {
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x;
  do {
    x = rng();
  } while (x >= limit);
  return x % n;
}

double Uniform01(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0);
}

uint64_t MixSeed(uint64_t seed, uint64_t salt) {
  // splitmix64 finaliser: nearby (seed, salt) pairs give unrelated streams.
  uint64_t z = seed * 0x9E3779B97F4A7C15ull + salt + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t ResolveSeed(uint64_t seed) {
  if (seed != 0) return seed;
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd() ^ 1;
}

// The records of one epoch: reader threads, each with its own queue, merged
// in a fixed round-robin order.
class EpochStream {
 public:
  EpochStream(ReaderFactory open, std::vector<std::vector<std::string>> lanes,
              int64_t keep_index, int64_t keep_modulus)
      : open_(std::move(open)), keep_index_(keep_index), keep_modulus_(keep_modulus) {
    for (auto& files : lanes) {
      auto lane = std::make_unique<Lane>();
      lane->files = std::move(files);
      lanes_.push_back(std::move(lane));
    }
    live_ = lanes_.size();
    threads_.reserve(lanes_.size());
    for (size_t j = 0; j < lanes_.size(); ++j) {
      threads_.emplace_back([this, j] { ReadLane(j); });
    }
  }

  ~EpochStream() {
    Cancel();
    for (auto& t : threads_) t.join();
  }

  // Moves the next chunk into `*chunk`; false once every reader has finished
  // and its queue is empty. Rethrows a reader's error at its place in the
  // order, after the records read before it. Throws ClosedError once
  // cancelled.
  bool NextChunk(Chunk* chunk) {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      if (cancelled_) throw ClosedError("RecordYielder is closed");
      if (live_ == 0) return false;
      Lane& lane = *lanes_[turn_];
      if (!lane.chunks.empty()) {
        *chunk = std::move(lane.chunks.front());
        lane.chunks.pop_front();
        lane.space.notify_one();
        Advance();
        return true;
      }
      if (lane.done) {
        if (lane.error) std::rethrow_exception(lane.error);
        lane.retired = true;
        --live_;
        Advance();
        continue;
      }
      produced_.wait(lock);
    }
  }

  void Cancel() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      cancelled_ = true;
    }
    cancelled_flag_.store(true, std::memory_order_relaxed);
    produced_.notify_all();
    for (auto& lane : lanes_) lane->space.notify_all();
  }

 private:
  struct Lane {
    std::vector<std::string> files;
    std::deque<Chunk> chunks;
    std::condition_variable space;
    bool done = false;
    bool retired = false;
    std::exception_ptr error;
  };

  void Advance() {
    if (live_ == 0) return;
    do {
      turn_ = (turn_ + 1) % lanes_.size();
    } while (lanes_[turn_]->retired);
  }

  // False when cancelled (the chunk is dropped).
  bool Push(size_t j, Chunk* chunk) {
    Lane& lane = *lanes_[j];
    std::unique_lock<std::mutex> lock(mu_);
    lane.space.wait(lock, [&] {
      return cancelled_ || lane.chunks.size() < kQueueChunks;
    });
    if (cancelled_) return false;
    lane.chunks.push_back(std::move(*chunk));
    chunk->clear();
    produced_.notify_one();
    return true;
  }

  void Finish(size_t j, std::exception_ptr error) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      lanes_[j]->done = true;
      lanes_[j]->error = std::move(error);
    }
    produced_.notify_one();
  }

  void ReadLane(size_t j) {
    Chunk chunk;
    size_t bytes = 0;
    try {
      for (const std::string& file : lanes_[j]->files) {
        auto reader = open_(file);
        std::string record;
        int64_t index = -1;
        while (reader->Next(&record)) {
          ++index;
          if (keep_modulus_ > 1 && index % keep_modulus_ != keep_index_) {
            // Filtered readers may go long without pushing.
            if ((index & 1023) == 0 &&
                cancelled_flag_.load(std::memory_order_relaxed)) {
              return;
            }
            continue;
          }
          bytes += record.size();
          chunk.push_back(std::move(record));
          record = std::string();
          if (chunk.size() >= kChunkRecords || bytes >= kChunkBytes) {
            if (!Push(j, &chunk)) return;
            bytes = 0;
          }
        }
      }
      if (!chunk.empty() && !Push(j, &chunk)) return;
      Finish(j, nullptr);
    } catch (...) {
      // The records read before the error still come first.
      std::exception_ptr error = std::current_exception();
      if (!chunk.empty() && !Push(j, &chunk)) return;
      Finish(j, error);
    }
  }

  const ReaderFactory open_;
  const int64_t keep_index_;
  const int64_t keep_modulus_;
  std::mutex mu_;
  std::condition_variable produced_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  size_t turn_ = 0;
  size_t live_ = 0;
  bool cancelled_ = false;
  std::atomic<bool> cancelled_flag_{false};
  std::vector<std::thread> threads_;
};

class BasicRecordYielder : public RecordYielder {
 public:
  explicit BasicRecordYielder(const YielderOptions& options)
      : opts_(options), seed_(ResolveSeed(options.seed)) {
    ValidateYielderOptions(opts_);
    ParsedPattern parsed = ParseFilePattern(opts_.file_pattern);
    open_ = parsed.open;
    reparse_each_epoch_ = parsed.reparse_each_epoch;
    SetFiles(std::move(parsed.files));
    buffer_size_ = opts_.sequential ? 1 : static_cast<size_t>(opts_.buffer_size);
    rng_.seed(MixSeed(seed_, 0));
    buffer_.reserve(std::min<size_t>(buffer_size_, 1 << 20));
    current_ = StartStream(1);
  }

  ~BasicRecordYielder() override { Close(); }

  bool Yield(Record* record) override {
    std::lock_guard<std::mutex> lock(mu_);
    return YieldLocked(record);
  }

  size_t YieldMany(size_t n, std::vector<Record>* out) override {
    std::lock_guard<std::mutex> lock(mu_);
    size_t got = 0;
    Record record;
    while (got < n && YieldLocked(&record)) {
      out->push_back(std::move(record));
      ++got;
    }
    return got;
  }

  void Close() override {
    closed_.store(true);
    std::shared_ptr<EpochStream> current, next;
    {
      std::lock_guard<std::mutex> lock(streams_mu_);
      current = current_;
      next = next_;
    }
    if (current) current->Cancel();
    if (next) next->Cancel();
    current.reset();
    next.reset();
    // Blocked consumers wake up (their stream is cancelled) and leave.
    std::lock_guard<std::mutex> lock(mu_);
    ReleaseStreams();
    buffer_.clear();
    buffer_.shrink_to_fit();
    pending_.clear();
  }

  int64_t epoch() const override { return epoch_.load(); }
  int64_t records_yielded() const override { return yielded_.load(); }

 private:
  // Keeps this shard's part of the sorted `files`.
  void SetFiles(std::vector<std::string> files) {
    const auto count = static_cast<size_t>(opts_.shard_count);
    const auto index = static_cast<size_t>(opts_.shard_index);
    files_.clear();
    keep_index_ = 0;
    keep_modulus_ = 1;
    if (count > 1 && files.size() >= count) {
      for (size_t i = index; i < files.size(); i += count) files_.push_back(files[i]);
    } else {
      files_ = std::move(files);
      if (count > 1) {
        keep_index_ = opts_.shard_index;
        keep_modulus_ = opts_.shard_count;
      }
    }
  }

  std::shared_ptr<EpochStream> StartStream(int64_t epoch) {
    // An indirect pattern's file list may have a new version for this epoch.
    if (reparse_each_epoch_ && epoch > 1) SetFiles(ParseFilePattern(opts_.file_pattern).files);
    std::vector<std::string> order = files_;
    if (!opts_.sequential) {
      // Fisher-Yates with a generator seeded by (seed, epoch).
      std::mt19937_64 rng(MixSeed(seed_, static_cast<uint64_t>(epoch)));
      for (size_t i = order.size(); i > 1; --i) {
        std::swap(order[i - 1], order[UniformBelow(rng, i)]);
      }
    }
    const size_t lanes_n = opts_.sequential
                               ? 1
                               : std::min<size_t>(order.size(),
                                                  static_cast<size_t>(opts_.parallelism));
    std::vector<std::vector<std::string>> lanes(std::max<size_t>(lanes_n, 1));
    for (size_t i = 0; i < order.size(); ++i) {
      lanes[i % lanes.size()].push_back(std::move(order[i]));
    }
    auto stream = std::make_shared<EpochStream>(open_, std::move(lanes),
                                                keep_index_, keep_modulus_);
    {
      std::lock_guard<std::mutex> lock(streams_mu_);
      if (closed_.load()) stream->Cancel();
    }
    return stream;
  }

  void SetStreams(std::shared_ptr<EpochStream> current,
                  std::shared_ptr<EpochStream> next) {
    std::shared_ptr<EpochStream> old_current, old_next;
    {
      std::lock_guard<std::mutex> lock(streams_mu_);
      old_current = std::move(current_);
      old_next = std::move(next_);
      current_ = std::move(current);
      next_ = std::move(next);
    }
    // Joined here, outside streams_mu_.
  }

  void ReleaseStreams() { SetStreams(nullptr, nullptr); }

  bool MoreEpochs(int64_t after) const {
    return opts_.repeat_count < 0 || after < opts_.repeat_count;
  }

  bool YieldLocked(Record* record) {
    if (closed_.load()) throw ClosedError("RecordYielder is closed");
    if (error_) std::rethrow_exception(error_);
    if (done_) return false;
    try {
      for (;;) {
        while (buffer_.size() < buffer_size_ && !stream_exhausted_) {
          if (pending_pos_ < pending_.size()) {
            buffer_.push_back(std::move(pending_[pending_pos_++]));
            continue;
          }
          pending_.clear();
          pending_pos_ = 0;
          if (!current_->NextChunk(&pending_)) {
            stream_exhausted_ = true;
            // Read the next epoch while this one drains from the buffer;
            // except for an indirect pattern, whose file list must be read
            // when the next epoch begins, so that a version written before
            // that moment is the one read.
            if (MoreEpochs(stream_epoch_) && !reparse_each_epoch_) {
              auto next = StartStream(stream_epoch_ + 1);
              std::lock_guard<std::mutex> lock(streams_mu_);
              next_ = std::move(next);
            }
          }
        }
        if (!buffer_.empty()) {
          const size_t n = buffer_.size();
          const size_t pick = n > 1 ? UniformBelow(rng_, n) : 0;
          if (pick != n - 1) std::swap(buffer_[pick], buffer_[n - 1]);
          record->data = std::move(buffer_.back());
          record->source_id = opts_.source_id;
          buffer_.pop_back();
          ++records_in_epoch_;
          epoch_.store(stream_epoch_);
          yielded_.fetch_add(1);
          return true;
        }
        // This epoch is fully drained. An epoch without records would repeat
        // forever without yielding, so it ends the data instead.
        if (records_in_epoch_ == 0 || !MoreEpochs(stream_epoch_)) {
          done_ = true;
          ReleaseStreams();
          return false;
        }
        std::shared_ptr<EpochStream> next;
        {
          std::lock_guard<std::mutex> lock(streams_mu_);
          next = next_;
        }
        if (!next) next = StartStream(stream_epoch_ + 1);
        SetStreams(std::move(next), nullptr);
        ++stream_epoch_;
        records_in_epoch_ = 0;
        stream_exhausted_ = false;
      }
    } catch (const ClosedError&) {
      throw;
    } catch (...) {
      if (closed_.load()) throw ClosedError("RecordYielder is closed");
      error_ = std::current_exception();
      ReleaseStreams();
      throw;
    }
  }

  const YielderOptions opts_;
  const uint64_t seed_;
  ReaderFactory open_;
  bool reparse_each_epoch_ = false;
  std::vector<std::string> files_;  // This shard's files, sorted.
  int64_t keep_index_ = 0;
  int64_t keep_modulus_ = 1;  // > 1: record-level sharding.
  size_t buffer_size_ = 1;

  std::mutex mu_;          // Held by a consumer for a whole Yield.
  std::mutex streams_mu_;  // Guards current_/next_ against Close.
  std::shared_ptr<EpochStream> current_;
  std::shared_ptr<EpochStream> next_;
  std::atomic<bool> closed_{false};

  std::mt19937_64 rng_;
  std::vector<std::string> buffer_;
  Chunk pending_;
  size_t pending_pos_ = 0;
  bool stream_exhausted_ = false;
  int64_t stream_epoch_ = 1;
  int64_t records_in_epoch_ = 0;
  bool done_ = false;
  std::exception_ptr error_;
  std::atomic<int64_t> epoch_{0};
  std::atomic<int64_t> yielded_{0};
};

class MixedRecordYielder : public RecordYielder {
 public:
  MixedRecordYielder(std::vector<std::unique_ptr<RecordYielder>> children,
                     const std::vector<double>& weights, uint64_t seed)
      : children_(std::move(children)), rng_(MixSeed(ResolveSeed(seed), 7)) {
    double total = 0;
    for (double w : weights) {
      total += w;
      cumulative_.push_back(total);
    }
  }

  ~MixedRecordYielder() override { Close(); }

  bool Yield(Record* record) override {
    std::lock_guard<std::mutex> lock(mu_);
    return YieldLocked(record);
  }

  size_t YieldMany(size_t n, std::vector<Record>* out) override {
    std::lock_guard<std::mutex> lock(mu_);
    size_t got = 0;
    Record record;
    while (got < n && YieldLocked(&record)) {
      out->push_back(std::move(record));
      ++got;
    }
    return got;
  }

  void Close() override {
    closed_.store(true);
    for (auto& child : children_) child->Close();
  }

  int64_t epoch() const override {
    return children_[last_.load()]->epoch();
  }
  int64_t records_yielded() const override { return yielded_.load(); }

  std::vector<int64_t> source_epochs() const override {
    std::vector<int64_t> out;
    for (const auto& child : children_) out.push_back(child->epoch());
    return out;
  }

 private:
  bool YieldLocked(Record* record) {
    if (closed_.load()) throw ClosedError("RecordYielder is closed");
    if (done_) return false;
    const double u = Uniform01(rng_) * cumulative_.back();
    size_t i = static_cast<size_t>(
        std::upper_bound(cumulative_.begin(), cumulative_.end(), u) -
        cumulative_.begin());
    // Rounding can put u on the total; never pick a zero-weight pattern then.
    i = std::min(i, children_.size() - 1);
    while (i > 0 && cumulative_[i] <= cumulative_[i - 1]) --i;
    if (!children_[i]->Yield(record)) {
      done_ = true;
      return false;
    }
    last_.store(i);
    yielded_.fetch_add(1);
    return true;
  }

  std::vector<std::unique_ptr<RecordYielder>> children_;
  std::vector<double> cumulative_;
  std::mt19937_64 rng_;
  std::mutex mu_;
  std::atomic<bool> closed_{false};
  bool done_ = false;
  std::atomic<size_t> last_{0};
  std::atomic<int64_t> yielded_{0};
};

}  // namespace

void ValidateYielderOptions(const YielderOptions& o) {
  auto fail = [](const std::string& msg) { throw InvalidArgumentError(msg); };
  if (o.buffer_size < 1) {
    fail("buffer_size must be >= 1, got " + std::to_string(o.buffer_size));
  }
  if (o.parallelism < 1) {
    fail("parallelism must be >= 1, got " + std::to_string(o.parallelism));
  }
  if (o.repeat_count == 0 || o.repeat_count < -1) {
    fail("repeat_count must be -1 (forever) or > 0, got " +
         std::to_string(o.repeat_count));
  }
  if (o.shard_count < 1) {
    fail("shard_count must be >= 1, got " + std::to_string(o.shard_count));
  }
  if (o.shard_index < 0 || o.shard_index >= o.shard_count) {
    fail("shard_index must be in [0, shard_count=" +
         std::to_string(o.shard_count) + "), got " +
         std::to_string(o.shard_index));
  }
}

std::unique_ptr<RecordYielder> MakeRecordYielder(const YielderOptions& options) {
  return std::make_unique<BasicRecordYielder>(options);
}

std::unique_ptr<RecordYielder> MakeMixedRecordYielder(
    const std::vector<std::string>& file_patterns,
    const std::vector<double>& weights, const YielderOptions& base) {
  if (file_patterns.empty()) {
    throw InvalidArgumentError("There should be at least one yielder provided");
  }
  if (file_patterns.size() != weights.size()) {
    throw InvalidArgumentError(std::to_string(file_patterns.size()) +
                               " yielders and " + std::to_string(weights.size()) +
                               " weights were provided");
  }
  double total = 0;
  for (double w : weights) {
    if (!(w >= 0)) {
      char buf[64];
      std::snprintf(buf, sizeof(buf), "%g", w);
      throw InvalidArgumentError(
          std::string("All weights should be greater or equal to zero. Got ") +
          buf);
    }
    total += w;
  }
  if (!(total > 0)) {
    throw InvalidArgumentError("The weights must not all be zero");
  }
  if (base.sequential) {
    throw InvalidArgumentError(
        "sequential mode reads exactly one file pattern; it cannot mix " +
        std::to_string(file_patterns.size()) + " weighted patterns");
  }
  ValidateYielderOptions(base);
  constexpr uint64_t kSeedModulus = (uint64_t{1} << 31) - 2;
  std::vector<std::unique_ptr<RecordYielder>> children;
  for (size_t i = 0; i < file_patterns.size(); ++i) {
    YielderOptions child = base;
    child.file_pattern = file_patterns[i];
    if (base.seed != 0) {
      child.seed = (base.seed + i) % kSeedModulus;
      if (child.seed == 0) child.seed = 1;
    }
    child.source_id = base.source_id + static_cast<int32_t>(i);
    children.push_back(MakeRecordYielder(child));
  }
  if (children.size() == 1) return std::move(children[0]);
  return std::make_unique<MixedRecordYielder>(std::move(children), weights,
                                              base.seed);
}

}  // namespace lingvo::ops::input
