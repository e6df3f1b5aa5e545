// TFRecord / text / iota readers and the TFRecord writer.
#include "input/record_io.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "input/crc32c.h"
#include "input/errors.h"

namespace lingvo::ops::input {
namespace {

constexpr size_t kIoBufferBytes = 256 * 1024;
// Records are read in pieces of this size, so a corrupt length that slipped
// past its CRC cannot make us allocate more than the file actually holds.
constexpr uint64_t kReadPieceBytes = 16u << 20;

std::string ErrnoText(int err) { return std::strerror(err); }

[[noreturn]] void ThrowOpenError(const std::string& path, int err) {
  if (err == ENOENT || err == ENOTDIR) {
    throw NotFoundError("No such file: '" + path + "'");
  }
  throw IoError("Cannot open '" + path + "': " + ErrnoText(err));
}

// A byte stream; Read returns fewer than `n` bytes only at its end.
class ByteSource {
 public:
  explicit ByteSource(std::string path) : path_(std::move(path)) {}
  virtual ~ByteSource() = default;
  virtual size_t Read(char* dst, size_t n) = 0;
  // How offsets into this stream are described in errors.
  virtual const char* offset_kind() const { return "byte offset"; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class FileSource : public ByteSource {
 public:
  explicit FileSource(const std::string& path) : ByteSource(path) {
    file_ = std::fopen(path.c_str(), "rb");
    if (file_ == nullptr) ThrowOpenError(path, errno);
    std::setvbuf(file_, nullptr, _IOFBF, kIoBufferBytes);
  }
  ~FileSource() override { std::fclose(file_); }

  size_t Read(char* dst, size_t n) override {
    const size_t got = std::fread(dst, 1, n, file_);
    if (got < n && std::ferror(file_)) {
      throw IoError("Read error in '" + path() + "': " + ErrnoText(errno));
    }
    return got;
  }

 private:
  std::FILE* file_ = nullptr;
};

class GzipSource : public ByteSource {
 public:
  explicit GzipSource(const std::string& path) : ByteSource(path) {
    errno = 0;
    gz_ = gzopen(path.c_str(), "rb");
    if (gz_ == nullptr) ThrowOpenError(path, errno != 0 ? errno : ENOMEM);
    gzbuffer(gz_, kIoBufferBytes);
  }
  ~GzipSource() override { gzclose(gz_); }

  const char* offset_kind() const override {
    return "uncompressed byte offset";
  }

  size_t Read(char* dst, size_t n) override {
    size_t got = 0;
    while (got < n) {
      const auto want =
          static_cast<unsigned>(std::min<size_t>(n - got, 1u << 30));
      const int r = gzread(gz_, dst + got, want);
      if (r <= 0) break;
      got += static_cast<size_t>(r);
    }
    int errnum = Z_OK;
    const char* msg = gzerror(gz_, &errnum);
    if (errnum != Z_OK && errnum != Z_STREAM_END) {
      throw DataLossError("'" + path() +
                          "': corrupt or truncated gzip stream after "
                          "uncompressed byte offset " +
                          std::to_string(total_ + got) + " (zlib: " + msg +
                          ")");
    }
    // zlib passes non-gzip files through unchanged; a plain file under
    // tfrecord_gzip: is a wrong pattern, not data to read.
    if (total_ == 0 && got > 0 && gzdirect(gz_)) {
      throw DataLossError("'" + path() +
                          "' is not gzip-compressed (read as tfrecord_gzip)");
    }
    total_ += got;
    return got;
  }

 private:
  gzFile gz_ = nullptr;
  uint64_t total_ = 0;
};

uint64_t LoadLe64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

uint32_t LoadLe32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

void StoreLe64(uint64_t v, char* p) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

void StoreLe32(uint32_t v, char* p) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

std::string Hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%08x", v);
  return buf;
}

class TfRecordReader : public RecordReader {
 public:
  explicit TfRecordReader(std::unique_ptr<ByteSource> source)
      : source_(std::move(source)) {}

  bool Next(std::string* record) override {
    char header[12];
    const size_t got = source_->Read(header, sizeof(header));
    if (got == 0) return false;
    if (got < sizeof(header)) {
      Fail("truncated record", "the 12-byte header has only " +
                                   std::to_string(got) + " bytes");
    }
    const uint64_t length = LoadLe64(header);
    const uint32_t length_crc = MaskCrc(Crc32c(header, 8));
    if (length_crc != LoadLe32(header + 8)) {
      Fail("corrupted record", "length checksum mismatch (stored " +
                                   Hex32(LoadLe32(header + 8)) +
                                   ", computed " + Hex32(length_crc) + ")");
    }
    record->clear();
    uint64_t have = 0;
    while (have < length) {
      const uint64_t piece = std::min(length - have, kReadPieceBytes);
      record->resize(static_cast<size_t>(have + piece));
      const size_t n =
          source_->Read(record->data() + have, static_cast<size_t>(piece));
      have += n;
      if (n < piece) {
        Fail("truncated record", "the header says " + std::to_string(length) +
                                     " data bytes, the file has " +
                                     std::to_string(have));
      }
    }
    char footer[4];
    const size_t footer_got = source_->Read(footer, sizeof(footer));
    if (footer_got < sizeof(footer)) {
      Fail("truncated record", "the 4-byte data checksum has only " +
                                   std::to_string(footer_got) + " bytes");
    }
    const uint32_t data_crc = MaskCrc(Crc32c(record->data(), record->size()));
    if (data_crc != LoadLe32(footer)) {
      Fail("corrupted record", "data checksum mismatch (stored " +
                                   Hex32(LoadLe32(footer)) + ", computed " +
                                   Hex32(data_crc) + ")");
    }
    offset_ += sizeof(header) + length + sizeof(footer);
    return true;
  }

 private:
  [[noreturn]] void Fail(const std::string& what, const std::string& detail) {
    throw DataLossError("'" + source_->path() + "': " + what + " at " +
                        source_->offset_kind() + " " + std::to_string(offset_) +
                        ": " + detail);
  }

  std::unique_ptr<ByteSource> source_;
  uint64_t offset_ = 0;  // Start of the record being read.
};

class TextLineReader : public RecordReader {
 public:
  explicit TextLineReader(std::unique_ptr<ByteSource> source)
      : source_(std::move(source)) {}

  bool Next(std::string* record) override {
    for (;;) {
      const char* begin = buffer_.data() + pos_;
      const char* end = buffer_.data() + buffer_.size();
      const void* nl = std::memchr(begin, '\n', static_cast<size_t>(end - begin));
      if (nl != nullptr) {
        Emit(begin, static_cast<const char*>(nl), record);
        pos_ = static_cast<size_t>(static_cast<const char*>(nl) - buffer_.data()) + 1;
        return true;
      }
      if (eof_) {
        if (begin == end) return false;
        // A final line without a newline is still a record.
        Emit(begin, end, record);
        pos_ = buffer_.size();
        return true;
      }
      Refill();
    }
  }

 private:
  static void Emit(const char* begin, const char* end, std::string* record) {
    record->assign(begin, end);
    // Like TensorFlow's line reader, every '\r' is dropped, not only a final one.
    if (std::memchr(record->data(), '\r', record->size()) != nullptr) {
      record->erase(std::remove(record->begin(), record->end(), '\r'),
                    record->end());
    }
  }

  void Refill() {
    buffer_.erase(0, pos_);
    pos_ = 0;
    const size_t old = buffer_.size();
    const size_t want = std::max(kIoBufferBytes, old);
    buffer_.resize(old + want);
    const size_t got = source_->Read(buffer_.data() + old, want);
    buffer_.resize(old + got);
    if (got < want) eof_ = true;
  }

  std::unique_ptr<ByteSource> source_;
  std::string buffer_;
  size_t pos_ = 0;
  bool eof_ = false;
};

class IotaReader : public RecordReader {
 public:
  explicit IotaReader(const std::string& count) {
    const bool numeric =
        !count.empty() && count.size() <= 18 &&
        std::all_of(count.begin(), count.end(),
                    [](char c) { return c >= '0' && c <= '9'; });
    limit_ = numeric ? std::stoll(count) : -1;
  }

  bool Next(std::string* record) override {
    if (limit_ >= 0 && next_ >= limit_) return false;
    char buf[32];
    const int n = std::snprintf(buf, sizeof(buf), "%010lld",
                                static_cast<long long>(next_++));
    record->assign(buf, static_cast<size_t>(n));
    return true;
  }

 private:
  int64_t limit_ = -1;  // -1: endless.
  int64_t next_ = 0;
};

}  // namespace

RecordFormat ParseRecordFormat(std::string_view name) {
  if (name == "tfrecord") return RecordFormat::kTfRecord;
  if (name == "tfrecord_gzip") return RecordFormat::kTfRecordGzip;
  if (name == "text") return RecordFormat::kText;
  if (name == "iota") return RecordFormat::kIota;
  throw InvalidArgumentError(
      "Unable to create a record reader for format '" + std::string(name) +
      "'; a file pattern starts with one of tfrecord:, tfrecord_gzip:, "
      "text:, iota:");
}

const char* RecordFormatName(RecordFormat format) {
  switch (format) {
    case RecordFormat::kTfRecord:
      return "tfrecord";
    case RecordFormat::kTfRecordGzip:
      return "tfrecord_gzip";
    case RecordFormat::kText:
      return "text";
    case RecordFormat::kIota:
      return "iota";
  }
  return "?";
}

std::unique_ptr<RecordReader> OpenRecordReader(RecordFormat format,
                                               const std::string& path) {
  switch (format) {
    case RecordFormat::kTfRecord:
      return std::make_unique<TfRecordReader>(std::make_unique<FileSource>(path));
    case RecordFormat::kTfRecordGzip:
      return std::make_unique<TfRecordReader>(std::make_unique<GzipSource>(path));
    case RecordFormat::kText:
      return std::make_unique<TextLineReader>(std::make_unique<FileSource>(path));
    case RecordFormat::kIota:
      return std::make_unique<IotaReader>(path);
  }
  throw InvalidArgumentError("unknown record format");
}

std::vector<std::string> ReadAllRecords(RecordFormat format,
                                        const std::string& path) {
  auto reader = OpenRecordReader(format, path);
  std::vector<std::string> out;
  std::string record;
  while (reader->Next(&record)) out.push_back(std::move(record));
  return out;
}

TfRecordWriter::TfRecordWriter(const std::string& path, bool gzip,
                               int compression_level)
    : path_(path), gzip_(gzip) {
  if (compression_level < -1 || compression_level > 9) {
    throw InvalidArgumentError("compression_level must be in [-1, 9], got " +
                               std::to_string(compression_level));
  }
  errno = 0;
  if (gzip_) {
    std::string mode = "wb";
    if (compression_level >= 0) mode += std::to_string(compression_level);
    gzFile gz = gzopen(path.c_str(), mode.c_str());
    if (gz == nullptr) ThrowOpenError(path, errno != 0 ? errno : ENOMEM);
    gzbuffer(gz, kIoBufferBytes);
    gz_ = gz;
  } else {
    file_ = std::fopen(path.c_str(), "wb");
    if (file_ == nullptr) ThrowOpenError(path, errno);
    std::setvbuf(file_, nullptr, _IOFBF, kIoBufferBytes);
  }
}

TfRecordWriter::~TfRecordWriter() {
  try {
    Close();
  } catch (...) {
    // A destructor cannot report; Close() called explicitly does.
  }
}

void TfRecordWriter::WriteBytes(const void* data, size_t n) {
  if (closed_) throw IoError("TFRecord writer for '" + path_ + "' is closed");
  if (n == 0) return;
  if (gzip_) {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
      const auto step = static_cast<unsigned>(std::min<size_t>(n, 1u << 30));
      if (gzwrite(static_cast<gzFile>(gz_), p, step) != static_cast<int>(step)) {
        int errnum = 0;
        throw IoError("Write error in '" + path_ +
                      "': " + gzerror(static_cast<gzFile>(gz_), &errnum));
      }
      p += step;
      n -= step;
    }
  } else if (std::fwrite(data, 1, n, file_) != n) {
    throw IoError("Write error in '" + path_ + "': " + ErrnoText(errno));
  }
}

void TfRecordWriter::Write(std::string_view record) {
  char header[12];
  StoreLe64(record.size(), header);
  StoreLe32(MaskCrc(Crc32c(header, 8)), header + 8);
  char footer[4];
  StoreLe32(MaskCrc(Crc32c(record.data(), record.size())), footer);
  WriteBytes(header, sizeof(header));
  WriteBytes(record.data(), record.size());
  WriteBytes(footer, sizeof(footer));
}

void TfRecordWriter::Flush() {
  if (closed_) return;
  const bool ok = gzip_ ? gzflush(static_cast<gzFile>(gz_), Z_SYNC_FLUSH) == Z_OK
                        : std::fflush(file_) == 0;
  if (!ok) throw IoError("Flush failed for '" + path_ + "'");
}

void TfRecordWriter::Close() {
  if (closed_) return;
  closed_ = true;
  const bool ok = gzip_ ? gzclose(static_cast<gzFile>(gz_)) == Z_OK
                        : std::fclose(file_) == 0;
  gz_ = nullptr;
  file_ = nullptr;
  if (!ok) throw IoError("Closing '" + path_ + "' failed");
}

}  // namespace lingvo::ops::input
