// Record readers (TFRecord, gzip TFRecord, text lines, iota) and a TFRecord
// writer.
//
// A TFRecord file is a sequence of
//   uint64 length (little-endian) | uint32 masked CRC32C of the 8 length bytes
//   | data[length] | uint32 masked CRC32C of data.
// Readers check both CRCs and that every byte is present; anything else is a
// DataLossError naming the file and the byte offset of the bad record, so a
// corrupt file is never skipped over or read in a loop.
#ifndef LINGVO_OPS_INPUT_RECORD_IO_H_
#define LINGVO_OPS_INPUT_RECORD_IO_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace lingvo::ops::input {

// Record formats, the `<type>:` prefix of a file pattern.
enum class RecordFormat { kTfRecord, kTfRecordGzip, kText, kIota };

// Parses a format name ("tfrecord", "tfrecord_gzip", "text", "iota").
// Throws InvalidArgumentError naming the known formats otherwise.
RecordFormat ParseRecordFormat(std::string_view name);

// The prefix name of `format`.
const char* RecordFormatName(RecordFormat format);

// Sequential reader of one file's records.
class RecordReader {
 public:
  virtual ~RecordReader() = default;
  // Reads the next record into `*record`; false at the clean end of the file.
  // Throws DataLossError / IoError on bad data or failed reads.
  virtual bool Next(std::string* record) = 0;
};

// Opens `path` (for kIota, the count: empty or not a number means endless).
// Throws NotFoundError when the file does not exist, IoError when it cannot be
// opened.
std::unique_ptr<RecordReader> OpenRecordReader(RecordFormat format,
                                               const std::string& path);

// Reads every record of a (small) file; for tests and tools.
std::vector<std::string> ReadAllRecords(RecordFormat format,
                                        const std::string& path);

// Writes a TFRecord file, plain or gzip-compressed. Not thread-safe.
class TfRecordWriter {
 public:
  // Truncates or creates `path`. `compression_level` (0-9, -1 = zlib's
  // default) applies when `gzip`. Throws IoError when it cannot be opened.
  TfRecordWriter(const std::string& path, bool gzip, int compression_level = -1);
  ~TfRecordWriter();
  TfRecordWriter(const TfRecordWriter&) = delete;
  TfRecordWriter& operator=(const TfRecordWriter&) = delete;

  void Write(std::string_view record);
  void Flush();
  // Flushes and closes; later writes throw IoError. Idempotent.
  void Close();
  bool closed() const { return closed_; }
  const std::string& path() const { return path_; }

 private:
  void WriteBytes(const void* data, size_t n);

  std::string path_;
  bool gzip_;
  bool closed_ = false;
  std::FILE* file_ = nullptr;
  void* gz_ = nullptr;  // gzFile, kept opaque so zlib.h stays out of headers.
};

}  // namespace lingvo::ops::input

#endif  // LINGVO_OPS_INPUT_RECORD_IO_H_
