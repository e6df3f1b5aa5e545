// Python bindings of the input kernels (csrc/input/): CRC32C, TFRecord
// reading and writing, the record yielder and the bucketing batcher.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bindings/bindings.h"
#include "bindings/text_args.h"
#include "input/bucket_batcher.h"
#include "input/crc32c.h"
#include "input/errors.h"
#include "input/record_io.h"
#include "input/record_types.h"
#include "input/record_yielder.h"

namespace py = pybind11;

namespace lingvo::ops::bindings {
namespace {

using input::Record;
using input::RecordYielder;

// The bytes of a bytes-like object (bytes, bytearray, memoryview, a
// contiguous numpy array), without copying; `hold` keeps the view alive.
std::string_view BytesView(py::handle obj, const char* name, Py_buffer* view) {
  if (PyUnicode_Check(obj.ptr())) {
    throw py::type_error(std::string(name) +
                         " must be bytes-like, got str (encode it first)");
  }
  if (PyObject_GetBuffer(obj.ptr(), view, PyBUF_C_CONTIGUOUS) != 0) {
    PyErr_Clear();
    throw py::type_error(std::string(name) + " must be bytes-like, got " +
                         py::str(py::type::handle_of(obj).attr("__name__"))
                             .cast<std::string>());
  }
  return {static_cast<const char*>(view->buf), static_cast<size_t>(view->len)};
}

class BufferHold {
 public:
  BufferHold(py::handle obj, const char* name) : data_(BytesView(obj, name, &view_)) {}
  ~BufferHold() { PyBuffer_Release(&view_); }
  BufferHold(const BufferHold&) = delete;
  BufferHold& operator=(const BufferHold&) = delete;
  std::string_view data() const { return data_; }

 private:
  Py_buffer view_{};
  std::string_view data_;
};

uint32_t Crc32c(py::handle data, uint32_t crc) {
  BufferHold hold(data, "data");
  py::gil_scoped_release release;
  return input::Crc32cExtend(crc, hold.data().data(), hold.data().size());
}

uint32_t Crc32cPortable(py::handle data, uint32_t crc) {
  BufferHold hold(data, "data");
  py::gil_scoped_release release;
  return input::Crc32cExtendPortable(crc, hold.data().data(), hold.data().size());
}

uint32_t MaskedCrc32c(py::handle data) {
  BufferHold hold(data, "data");
  py::gil_scoped_release release;
  return input::MaskCrc(input::Crc32c(hold.data().data(), hold.data().size()));
}

py::list ReadRecords(const std::string& path, const std::string& format) {
  const input::RecordFormat fmt = input::ParseRecordFormat(format);
  std::vector<std::string> records;
  {
    py::gil_scoped_release release;
    records = input::ReadAllRecords(fmt, path);
  }
  py::list out(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    out[i] = py::bytes(records[i]);
  }
  return out;
}

class PyTfRecordWriter {
 public:
  PyTfRecordWriter(const std::string& path, bool gzip, int compression_level)
      : writer_(path, gzip, compression_level) {}

  void Write(py::handle record) {
    BufferHold hold(record, "record");
    writer_.Write(hold.data());
  }

  int64_t WriteMany(py::iterable records) {
    int64_t n = 0;
    for (py::handle record : records) {
      Write(record);
      ++n;
    }
    return n;
  }

  void Flush() {
    py::gil_scoped_release release;
    writer_.Flush();
  }

  void Close() {
    py::gil_scoped_release release;
    writer_.Close();
  }

  bool closed() const { return writer_.closed(); }
  const std::string& path() const { return writer_.path(); }

 private:
  input::TfRecordWriter writer_;
};

class PyRecordYielder {
 public:
  PyRecordYielder(py::object file_pattern, std::optional<std::vector<double>> weights,
                  uint64_t seed, int64_t buffer_size, int64_t parallelism,
                  bool sequential, int64_t repeat_count, int64_t shard_index,
                  int64_t shard_count, int32_t source_id_offset,
                  bool with_source_id)
      : with_source_id_(with_source_id) {
    input::YielderOptions options;
    options.seed = seed;
    options.buffer_size = buffer_size;
    options.parallelism = parallelism;
    options.sequential = sequential;
    options.repeat_count = repeat_count;
    options.shard_index = shard_index;
    options.shard_count = shard_count;
    options.source_id = source_id_offset;
    std::vector<std::string> patterns;
    if (py::isinstance<py::str>(file_pattern)) {
      const auto text = file_pattern.cast<std::string>();
      if (weights) {
        // Each weighted piece carries its own type prefix.
        size_t start = 0;
        for (;;) {
          const size_t comma = text.find(',', start);
          patterns.push_back(text.substr(start, comma - start));
          if (comma == std::string::npos) break;
          start = comma + 1;
        }
      } else {
        patterns.push_back(text);
      }
    } else {
      patterns = file_pattern.cast<std::vector<std::string>>();
      if (!weights && patterns.size() != 1) {
        throw py::value_error(
            "several file patterns need weights (one per pattern); got " +
            std::to_string(patterns.size()) + " patterns and no weights");
      }
    }
    py::gil_scoped_release release;
    if (weights) {
      yielder_ = input::MakeMixedRecordYielder(patterns, *weights, options);
    } else {
      options.file_pattern = patterns.at(0);
      yielder_ = input::MakeRecordYielder(options);
    }
  }

  ~PyRecordYielder() {
    if (yielder_) {
      // Joining the reader threads needs no Python; let other threads run.
      py::gil_scoped_release release;
      yielder_.reset();
    }
  }

  py::object Next() {
    Record record;
    bool ok = false;
    {
      py::gil_scoped_release release;
      ok = Get()->Yield(&record);
    }
    if (!ok) throw py::stop_iteration();
    return Wrap(record);
  }

  py::list NextBatch(int64_t n) {
    if (n < 0) throw py::value_error("n must be >= 0, got " + std::to_string(n));
    std::vector<Record> records;
    {
      py::gil_scoped_release release;
      records.reserve(static_cast<size_t>(n));
      Get()->YieldMany(static_cast<size_t>(n), &records);
    }
    py::list out(records.size());
    for (size_t i = 0; i < records.size(); ++i) out[i] = Wrap(records[i]);
    return out;
  }

  void Close() {
    closed_ = true;
    py::gil_scoped_release release;
    yielder_->Close();
  }

  bool closed() const { return closed_; }

  RecordYielder* Get() {
    if (!yielder_) throw input::ClosedError("RecordYielder is closed");
    return yielder_.get();
  }

 private:
  py::object Wrap(const Record& record) const {
    py::bytes data(record.data);
    if (!with_source_id_) return std::move(data);
    return py::make_tuple(std::move(data), record.source_id);
  }

  bool with_source_id_;
  bool closed_ = false;
  // Never reset while the object lives: Close() stops it, and other threads
  // may still be inside Yield.
  std::unique_ptr<RecordYielder> yielder_;
};

// Sets a Python error whose message may quote file names or bytes that are
// not UTF-8 (they appear backslash-escaped rather than failing to decode).
void SetErrorMessage(PyObject* type, const char* what) {
  PyObject* message = PyUnicode_DecodeUTF8(what, static_cast<Py_ssize_t>(std::strlen(what)),
                                           "backslashreplace");
  if (message == nullptr) return;  // The decoding error is set instead.
  PyErr_SetObject(type, message);
  Py_DECREF(message);
}

// A Python object shared with C++ threads: freed under the GIL.
std::shared_ptr<py::object> ShareWithThreads(py::object obj) {
  return std::shared_ptr<py::object>(new py::object(std::move(obj)), [](py::object* p) {
    py::gil_scoped_acquire gil;
    delete p;
  });
}

// An exception raised by Python code on a reader thread. The yielder keeps
// its error and raises it again on every later call, which a
// py::error_already_set cannot do (it restores its error once), so this holds
// the exception object and re-raises that.
class PythonReaderError : public std::runtime_error {
 public:
  explicit PythonReaderError(const py::error_already_set& e)
      : std::runtime_error(e.what()), exception_(ShareWithThreads(e.value())) {}
  void Raise() const {
    PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exception_->ptr())), exception_->ptr());
  }

 private:
  std::shared_ptr<py::object> exception_;
};

// Calls `f` (which needs the GIL held), turning Python errors into
// PythonReaderError.
template <typename F>
auto CallPython(F&& f) {
  try {
    return f();
  } catch (py::error_already_set& e) {
    throw PythonReaderError(e);
  }
}

// Reads one file of a custom record type through a Python iterator; runs on
// the yielder's reader threads, taking the GIL for each record.
class PyRecordReader : public input::RecordReader {
 public:
  PyRecordReader(py::object iterator, std::string type, std::string path)
      : iterator_(ShareWithThreads(std::move(iterator))),
        type_(std::move(type)),
        path_(std::move(path)) {}

  bool Next(std::string* record) override {
    py::gil_scoped_acquire gil;
    PyObject* item = PyIter_Next(iterator_->ptr());
    if (item == nullptr) {
      if (PyErr_Occurred()) CallPython([]() -> int { throw py::error_already_set(); });
      return false;
    }
    const auto obj = py::reinterpret_steal<py::object>(item);
    if (PyBytes_Check(obj.ptr())) {
      char* data = nullptr;
      Py_ssize_t n = 0;
      PyBytes_AsStringAndSize(obj.ptr(), &data, &n);
      record->assign(data, static_cast<size_t>(n));
    } else if (PyByteArray_Check(obj.ptr())) {
      record->assign(PyByteArray_AsString(obj.ptr()),
                     static_cast<size_t>(PyByteArray_Size(obj.ptr())));
    } else {
      throw py::type_error("The reader of record type '" + type_ + "' yielded a " +
                           py::str(py::type::handle_of(obj).attr("__name__")).cast<std::string>() +
                           " for '" + path_ + "'; records must be bytes");
    }
    return true;
  }

 private:
  std::shared_ptr<py::object> iterator_;
  std::string type_;
  std::string path_;
};

void RegisterRecordType(const std::string& name, py::object reader, py::object pattern_parser) {
  if (!PyCallable_Check(reader.ptr())) {
    throw py::type_error("register_record_type needs a callable reader(path), got " +
                         py::repr(reader).cast<std::string>());
  }
  if (!pattern_parser.is_none() && !PyCallable_Check(pattern_parser.ptr())) {
    throw py::type_error("pattern_parser must be callable or None, got " +
                         py::repr(pattern_parser).cast<std::string>());
  }
  input::CustomRecordType type;
  type.open = [name, reader = ShareWithThreads(reader)](const std::string& path) {
    py::gil_scoped_acquire gil;
    py::object iterator = CallPython([&] { return py::iter((*reader)(path)); });
    return std::unique_ptr<input::RecordReader>(
        std::make_unique<PyRecordReader>(std::move(iterator), name, path));
  };
  if (!pattern_parser.is_none()) {
    type.parse_pattern = [name, parse = ShareWithThreads(pattern_parser)](
                             const std::string& pattern) {
      py::gil_scoped_acquire gil;
      py::object files = CallPython([&] { return (*parse)(pattern); });
      std::vector<std::string> out;
      for (py::handle f : files) {
        if (!py::isinstance<py::str>(f)) {
          throw py::type_error("The pattern parser of record type '" + name +
                               "' must return file names (str), got " +
                               py::repr(f).cast<std::string>());
        }
        out.push_back(f.cast<std::string>());
      }
      return out;
    };
  }
  input::RegisterRecordType(name, std::move(type));
}

class PyBucketBatcher {
 public:
  using Batcher = input::BucketBatcher<py::object>;

  PyBucketBatcher(std::vector<int64_t> bucket_upper_bound,
                  std::vector<int64_t> bucket_batch_limit, int64_t flush_every_n,
                  int64_t bucket_adjust_every_n)
      : batcher_(std::move(bucket_upper_bound), std::move(bucket_batch_limit),
                 flush_every_n, bucket_adjust_every_n) {}

  py::list Add(py::handle key, py::object sample) {
    PyObject* index = PyNumber_Index(key.ptr());
    if (index == nullptr) {
      PyErr_Clear();
      throw py::type_error(
          "key must be an integer (int or numpy integer), got " +
          py::str(py::type::handle_of(key).attr("__name__")).cast<std::string>());
    }
    const auto k = py::reinterpret_steal<py::int_>(index).cast<int64_t>();
    std::vector<Batcher::Batch> batches;
    batcher_.Add(k, std::move(sample), &batches);
    return ToList(std::move(batches));
  }

  // Adds samples[i] under keys[i] in order, as that many Add calls would;
  // returns every batch they completed. The keys are int64 (checked by the
  // caller), one per sample.
  py::list AddMany(py::array_t<int64_t, py::array::c_style | py::array::forcecast> keys,
                   py::list samples) {
    if (keys.ndim() != 1 || keys.shape(0) != static_cast<py::ssize_t>(samples.size())) {
      throw py::value_error("add_many needs one key per sample, got keys of shape " +
                            ShapeString(keys) + " and " + std::to_string(samples.size()) +
                            " samples");
    }
    const int64_t* k = keys.data();
    std::vector<Batcher::Batch> batches;
    for (py::ssize_t i = 0; i < keys.shape(0); ++i) {
      batcher_.Add(k[i], py::reinterpret_borrow<py::object>(samples[static_cast<size_t>(i)]),
                   &batches);
    }
    return ToList(std::move(batches));
  }

  py::list Flush() {
    std::vector<Batcher::Batch> batches;
    batcher_.Flush(&batches);
    return ToList(std::move(batches));
  }

  const Batcher& batcher() const { return batcher_; }

 private:
  static py::list ToList(std::vector<Batcher::Batch>&& batches) {
    py::list out;
    for (auto& batch : batches) {
      py::list samples(batch.samples.size());
      for (size_t i = 0; i < batch.samples.size(); ++i) {
        samples[i] = std::move(batch.samples[i]);
      }
      std::vector<int32_t> keys(batch.keys.begin(), batch.keys.end());
      const auto n = static_cast<py::ssize_t>(keys.size());
      out.append(py::make_tuple(batch.bucket, std::move(samples),
                                VectorToArray(std::move(keys), {n})));
    }
    return out;
  }

  Batcher batcher_;
};

constexpr const char* kRecordYielderDoc = R"doc(
Reads records from file patterns with reader threads, a shuffle buffer,
epochs, sharding and weighted mixing.

Iterating yields ``bytes`` records (``(bytes, source_id)`` tuples with
``with_source_id``). The GIL is released while waiting, and several Python
threads may share one yielder. ``close()`` (or leaving a ``with`` block, or
garbage collection) stops and joins the reader threads.

A file pattern is ``<type>:<pattern>[,<pattern>...]`` with type ``tfrecord``,
``tfrecord_gzip``, ``text``, ``text_indirect``, ``iota`` or one added with
``register_record_type``; each element is a file, a glob (``*?[]``) or a
sharded name (``name@16``, ``name@*``). ``iota:<n>`` yields ``b"%010d"`` for
0..n-1 (endless without n). ``text_indirect:<file>`` reads the text lines of
the files that ``<file>``, a text-format VersionedFileSet, lists as
``current { file_pattern: "..." }`` (relative to its directory); the file is
read again at the start of every epoch, so a new version is picked up at the
next epoch.

With a non-zero seed the order is reproducible whatever the thread timing:
reader thread j reads files j, j+P, ... of the epoch's seeded file order and
the consumer takes their chunks round-robin. Epochs never interleave: every
record comes exactly once per epoch. Corrupt or truncated TFRecords raise
``DataLossError`` naming the file and byte offset; nothing is skipped.

Sharding: with at least ``shard_count`` files, shard s reads files s,
s + shard_count, ... of the sorted list; with fewer files, every shard reads
every file and keeps the records whose index within their file is s modulo
``shard_count``. Shards are disjoint and together cover every record.

Args:
  file_pattern: One pattern, or with ``weights`` a list of patterns (or a
    comma-separated string whose pieces each have a type prefix).
  weights: Mixing weights, one per pattern: each record comes from pattern i
    with probability weights[i] / sum(weights); pattern i has source id
    ``source_id_offset + i`` and seed ``seed + i``. The mix ends when the
    pattern it picks is exhausted.
  seed: Seed of the file order, shuffle buffer and mixer; 0 draws one from the
    OS (not reproducible).
  buffer_size: Records held in the shuffle buffer.
  parallelism: Reader threads per pattern (at most one per file).
  sequential: Read the sorted files in order with one thread and no
    shuffling: every record exactly once per epoch, in file order (for
    evaluation). Not with ``weights``.
  repeat_count: Epochs to read; -1 repeats forever.
  shard_index: This worker's shard, in [0, shard_count).
  shard_count: Number of workers reading disjoint parts of the data.
  source_id_offset: Source id of the (first) pattern.
  with_source_id: Yield ``(record, source_id)`` tuples.

Raises:
  ValueError: An option is out of range, the pattern has no or an unknown
    type (the message lists the registered types), a VersionedFileSet is
    malformed (file and line named), a glob matches nothing ("Found no files at ..."), or the weights do
    not match the patterns.
  FileNotFoundError: A literal file does not exist.
)doc";

}  // namespace

void RegisterInput(py::module_& m) {
  auto& data_loss = py::register_exception<input::DataLossError>(
      m, "DataLossError", PyExc_OSError);
  data_loss.doc() =
      "Corrupt or truncated input data; the message names the file and the "
      "byte offset.";
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const PythonReaderError& e) {
      e.Raise();
    } catch (const input::NotFoundError& e) {
      SetErrorMessage(PyExc_FileNotFoundError, e.what());
    } catch (const input::IoError& e) {
      SetErrorMessage(PyExc_OSError, e.what());
    } catch (const input::ClosedError& e) {
      SetErrorMessage(PyExc_ValueError, e.what());
    } catch (const input::InvalidArgumentError& e) {
      SetErrorMessage(PyExc_ValueError, e.what());
    }
  });

  m.def("crc32c", &Crc32c, py::arg("data"), py::arg("crc") = 0,
        "CRC32C (Castagnoli) of bytes-like ``data``, extending ``crc`` (the\n"
        "CRC32C of a preceding prefix, 0 for none).");
  m.def("masked_crc32c", &MaskedCrc32c, py::arg("data"),
        "The masked CRC32C that TFRecord files store: ((c >> 15) | (c << 17))\n"
        "+ 0xA282EAD8 modulo 2**32.");
  m.def("_crc32c_portable", &Crc32cPortable, py::arg("data"), py::arg("crc") = 0,
        "crc32c through the slicing-by-8 tables only (for tests).");
  m.def("_crc32c_uses_hardware", &input::Crc32cUsesHardware,
        "Whether crc32c uses the SSE4.2 instruction on this machine.");
  m.def("read_records", &ReadRecords, py::arg("path"),
        py::arg("format") = "tfrecord",
        "Every record of one file as a list of bytes.\n\n"
        "Args:\n  path: The file.\n  format: tfrecord, tfrecord_gzip, text or iota.\n\n"
        "Raises:\n  DataLossError: A corrupt or truncated record (file and offset\n"
        "    named).\n  FileNotFoundError: No such file.\n  ValueError: Unknown format.");

  py::class_<PyTfRecordWriter>(m, "TFRecordWriter",
                               "Writes a TFRecord file (plain or gzip-compressed).\n\n"
                               "Args:\n  path: The file, created or truncated.\n"
                               "  gzip: Compress the whole stream with gzip (read it\n"
                               "    back with tfrecord_gzip:).\n"
                               "  compression_level: zlib level 0-9; -1 is zlib's default.")
      .def(py::init<const std::string&, bool, int>(), py::arg("path"),
           py::arg("gzip") = false, py::arg("compression_level") = -1)
      .def("write", &PyTfRecordWriter::Write, py::arg("record"),
           "Appends one bytes-like record.")
      .def("write_many", &PyTfRecordWriter::WriteMany, py::arg("records"),
           "Appends every record of an iterable; returns how many.")
      .def("flush", &PyTfRecordWriter::Flush)
      .def("close", &PyTfRecordWriter::Close, "Flushes and closes; idempotent.")
      .def_property_readonly("closed", &PyTfRecordWriter::closed)
      .def_property_readonly("path", &PyTfRecordWriter::path)
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](PyTfRecordWriter& self, py::args) { self.Close(); });

  py::class_<PyRecordYielder>(m, "RecordYielder", kRecordYielderDoc + 1)
      .def(py::init<py::object, std::optional<std::vector<double>>, uint64_t,
                    int64_t, int64_t, bool, int64_t, int64_t, int64_t, int32_t,
                    bool>(),
           py::arg("file_pattern"), py::arg("weights") = py::none(),
           py::kw_only(), py::arg("seed") = 301, py::arg("buffer_size") = 10000,
           py::arg("parallelism") = 4, py::arg("sequential") = false,
           py::arg("repeat_count") = -1, py::arg("shard_index") = 0,
           py::arg("shard_count") = 1, py::arg("source_id_offset") = 0,
           py::arg("with_source_id") = false)
      .def("__iter__", [](py::object self) { return self; })
      .def("__next__", &PyRecordYielder::Next)
      .def("next_batch", &PyRecordYielder::NextBatch, py::arg("n"),
           "Up to ``n`` records in one call (amortises the call overhead);\n"
           "fewer only at the end of the data, an empty list after it.")
      .def("close", &PyRecordYielder::Close,
           "Stops and joins the reader threads; idempotent. Later calls (and\n"
           "calls blocked in other threads) raise ValueError.")
      .def_property_readonly(
          "epoch", [](PyRecordYielder& self) { return self.Get()->epoch(); },
          "1-based epoch of the last record yielded (0 before the first); for a\n"
          "mix, that of the pattern it came from.")
      .def_property_readonly(
          "source_epochs",
          [](PyRecordYielder& self) { return self.Get()->source_epochs(); },
          "The epoch of each mixed pattern, in pattern order.")
      .def_property_readonly(
          "records_yielded",
          [](PyRecordYielder& self) { return self.Get()->records_yielded(); })
      .def_property_readonly("closed", &PyRecordYielder::closed)
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](PyRecordYielder& self, py::args) { self.Close(); });

  py::class_<PyBucketBatcher>(m, "_BucketBatcher")
      .def(py::init<std::vector<int64_t>, std::vector<int64_t>, int64_t, int64_t>(),
           py::arg("bucket_upper_bound"), py::arg("bucket_batch_limit"),
           py::arg("flush_every_n") = 0, py::arg("bucket_adjust_every_n") = 0)
      .def("add", &PyBucketBatcher::Add, py::arg("key"), py::arg("sample"))
      .def("add_many", &PyBucketBatcher::AddMany, py::arg("keys"), py::arg("samples"))
      .def("flush", &PyBucketBatcher::Flush)
      .def_property_readonly("accepted",
                             [](const PyBucketBatcher& s) { return s.batcher().accepted(); })
      .def_property_readonly("dropped",
                             [](const PyBucketBatcher& s) { return s.batcher().dropped(); })
      .def_property_readonly(
          "dropped_negative",
          [](const PyBucketBatcher& s) { return s.batcher().dropped_negative(); })
      .def_property_readonly(
          "dropped_too_large",
          [](const PyBucketBatcher& s) { return s.batcher().dropped_too_large(); })
      .def_property_readonly("pending",
                             [](const PyBucketBatcher& s) { return s.batcher().pending(); })
      .def_property_readonly(
          "bucket_upper_bound",
          [](const PyBucketBatcher& s) { return s.batcher().bucket_upper_bound(); })
      .def_property_readonly(
          "bucket_batch_limit",
          [](const PyBucketBatcher& s) { return s.batcher().bucket_batch_limit(); })
      .def_property_readonly(
          "flush_every_n",
          [](const PyBucketBatcher& s) { return s.batcher().flush_every_n(); })
      .def_property_readonly(
          "bucket_adjust_every_n",
          [](const PyBucketBatcher& s) { return s.batcher().bucket_adjust_every_n(); })
      .def_property_readonly(
          "adjustments", [](const PyBucketBatcher& s) { return s.batcher().adjustments(); });

  m.def("_register_record_type", &RegisterRecordType, py::arg("name"), py::arg("reader"),
        py::arg("pattern_parser") = py::none());
  m.def("_unregister_record_type", &input::UnregisterRecordType, py::arg("name"));
  m.def("_record_type_names", &input::RecordTypeNames);

  m.def(
      "_optimal_bucket_bounds",
      [](std::vector<std::pair<int64_t, int64_t>> histogram, size_t num_buckets,
         int64_t last_bound, size_t max_bins) {
        return input::OptimalBucketBounds(histogram, num_buckets, last_bound, max_bins);
      },
      py::arg("histogram"), py::arg("num_buckets"), py::arg("last_bound"),
      py::arg("max_bins") = 500,
      "The bounds bucket_adjust_every_n picks for sorted (key, count) pairs (for tests).");
}

}  // namespace lingvo::ops::bindings
