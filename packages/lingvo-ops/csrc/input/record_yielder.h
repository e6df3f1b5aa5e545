// Record yielders: read the files of a pattern with several threads, shuffle
// through a buffer, repeat for epochs, shard across workers, and mix patterns
// by weight.
//
// Determinism: with a non-zero seed the order of records is a function of the
// seed, the files and the options only, never of thread timing. Reader thread
// `j` reads files j, j + P, j + 2P, ... of the epoch's (seeded) file order into
// its own queue of chunks, and the consumer takes chunks from the threads in a
// fixed round-robin order, so the stream entering the shuffle buffer is the
// same on every run; the buffer and the mixer draw from seeded generators in
// the consumer.
//
// Sharding (shard_index, shard_count): with at least shard_count files, shard
// s reads files s, s + count, ... of the sorted file list (whole files, so no
// record is read twice across the cluster); with fewer files every shard reads
// every file and keeps the records whose index within their file is
// congruent to s modulo shard_count. Either way the shards are disjoint and
// together cover every record.
#ifndef LINGVO_OPS_INPUT_RECORD_YIELDER_H_
#define LINGVO_OPS_INPUT_RECORD_YIELDER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lingvo::ops::input {

struct YielderOptions {
  // `<type>:<pattern>[,<pattern>...]`, see file_pattern.h.
  std::string file_pattern;
  // 0 draws a fresh seed from the OS (order not reproducible).
  uint64_t seed = 301;
  // Records held for shuffling; 1 keeps the read order.
  int64_t buffer_size = 10000;
  // Reader threads.
  int64_t parallelism = 4;
  // Files in sorted order, one reader thread, no shuffling: every record
  // exactly once per epoch, in file order.
  bool sequential = false;
  // Epochs before the end of the data; -1 repeats forever.
  int64_t repeat_count = -1;
  int64_t shard_index = 0;
  int64_t shard_count = 1;
  // Reported with every record of this pattern.
  int32_t source_id = 0;
};

// Throws InvalidArgumentError when an option is out of range.
void ValidateYielderOptions(const YielderOptions& options);

// One record and the id of the pattern it came from.
struct Record {
  std::string data;
  int32_t source_id = 0;
};

// Thread-safe: Yield may be called from several threads; Close from any.
class RecordYielder {
 public:
  virtual ~RecordYielder() = default;
  // Blocks until a record is available; false at the end of the data (after
  // repeat_count epochs). Errors (corrupt files, ...) are thrown and then
  // thrown again by every later call. Throws ClosedError after Close().
  virtual bool Yield(Record* record) = 0;
  // Appends up to `n` records to `*out`; fewer only at the end of the data.
  // Returns how many were appended.
  virtual size_t YieldMany(size_t n, std::vector<Record>* out) = 0;
  // Stops and joins the reader threads; wakes blocked Yield calls, which throw
  // ClosedError. Idempotent.
  virtual void Close() = 0;
  // 1-based epoch of the last record yielded (0 before the first).
  virtual int64_t epoch() const = 0;
  // Records yielded so far.
  virtual int64_t records_yielded() const = 0;
  // epoch() of each mixed pattern, in pattern order.
  virtual std::vector<int64_t> source_epochs() const { return {epoch()}; }
};

// A yielder over one pattern.
std::unique_ptr<RecordYielder> MakeRecordYielder(const YielderOptions& options);

// A yielder that draws each record from pattern i with probability
// weights[i] / sum(weights). Pattern i uses `base` with its own file_pattern,
// seed (base.seed + i) % (2^31 - 2) (1 if that is 0; 0 stays 0) and source_id
// base.source_id + i. The mix ends when the pattern it picks is exhausted.
// Throws InvalidArgumentError for mismatched counts, negative weights, a zero
// sum, or base.sequential.
std::unique_ptr<RecordYielder> MakeMixedRecordYielder(
    const std::vector<std::string>& file_patterns,
    const std::vector<double>& weights, const YielderOptions& base);

}  // namespace lingvo::ops::input

#endif  // LINGVO_OPS_INPUT_RECORD_YIELDER_H_
