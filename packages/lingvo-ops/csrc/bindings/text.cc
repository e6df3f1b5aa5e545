// Python bindings of the text kernels (csrc/text/).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "bindings/bindings.h"
#include "text/ascii_tokenizer.h"

namespace py = pybind11;

namespace lingvo::ops::bindings {
namespace {

std::string TypeName(py::handle obj) {
  return py::str(py::type::handle_of(obj).attr("__name__")).cast<std::string>();
}

std::string ShapeString(const py::array& arr) {
  std::string out = "(";
  for (py::ssize_t i = 0; i < arr.ndim(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(arr.shape(i));
  }
  if (arr.ndim() == 1) out += ",";
  return out + ")";
}

// One label as raw bytes: bytes are taken as they are, str is UTF-8 encoded.
std::string LabelBytes(py::handle item, const char* name, std::size_t index) {
  if (PyBytes_Check(item.ptr())) {
    char* data = nullptr;
    Py_ssize_t size = 0;
    PyBytes_AsStringAndSize(item.ptr(), &data, &size);
    return std::string(data, static_cast<std::size_t>(size));
  }
  if (PyUnicode_Check(item.ptr())) {
    Py_ssize_t size = 0;
    const char* data = PyUnicode_AsUTF8AndSize(item.ptr(), &size);
    if (data == nullptr) throw py::error_already_set();
    return std::string(data, static_cast<std::size_t>(size));
  }
  const std::string where = std::string(name) + "[" + std::to_string(index) + "]";
  if (py::isinstance<py::array>(item) || PyList_Check(item.ptr()) ||
      PyTuple_Check(item.ptr())) {
    throw py::value_error(std::string(name) +
                          " must be a vector (1-D) of strings, but " + where +
                          " is a " + TypeName(item));
  }
  throw py::type_error(where + " must be str or bytes, got " + TypeName(item));
}

// A 1-D batch of labels (sequence of str/bytes or a 1-D numpy string array)
// as byte strings. Runs with the GIL held.
std::vector<std::string> LabelsToStrings(py::handle labels, const char* name) {
  if (PyUnicode_Check(labels.ptr()) || PyBytes_Check(labels.ptr())) {
    throw py::value_error(std::string(name) +
                          " must be a vector (1-D) of strings, got a single " +
                          TypeName(labels));
  }
  std::vector<std::string> out;
  if (py::isinstance<py::array>(labels)) {
    auto arr = py::reinterpret_borrow<py::array>(labels);
    if (arr.ndim() != 1) {
      throw py::value_error(std::string(name) +
                            " must be a vector (1-D) of strings, got an array "
                            "of shape " +
                            ShapeString(arr));
    }
    if (arr.dtype().kind() == 'S') {
      // Fixed-width bytes: numpy drops trailing NULs when reading an item,
      // and so do we.
      const auto itemsize = static_cast<std::size_t>(arr.itemsize());
      const auto* base = static_cast<const char*>(arr.data());
      out.reserve(static_cast<std::size_t>(arr.shape(0)));
      for (py::ssize_t i = 0; i < arr.shape(0); ++i) {
        const char* item = base + i * arr.strides(0);
        std::size_t size = itemsize;
        while (size > 0 && item[size - 1] == '\0') --size;
        out.emplace_back(item, size);
      }
      return out;
    }
  } else if (!py::isinstance<py::iterable>(labels)) {
    throw py::type_error(std::string(name) +
                         " must be a vector (1-D) of str or bytes, got " +
                         TypeName(labels));
  }
  if (PySequence_Check(labels.ptr())) {
    const Py_ssize_t size = PySequence_Size(labels.ptr());
    if (size >= 0) out.reserve(static_cast<std::size_t>(size));
    PyErr_Clear();
  }
  for (py::handle item : labels) {
    out.push_back(LabelBytes(item, name, out.size()));
  }
  return out;
}

// `obj` as a C-contiguous int64 array of rank `ndim`; copies only when the
// dtype or layout differ.
py::array_t<std::int64_t, py::array::c_style> ToInt64Array(
    py::handle obj, const char* name, int ndim, const char* rank_word) {
  py::array arr = py::array::ensure(obj);
  if (!arr) {
    throw py::value_error(std::string(name) + " must be a " + rank_word +
                          " of integers, got an object of type " +
                          TypeName(obj) + " that numpy cannot read as one");
  }
  if (arr.ndim() != ndim) {
    throw py::value_error(std::string(name) + " must be a " + rank_word +
                          " (" + std::to_string(ndim) +
                          "-D), got an array of shape " + ShapeString(arr));
  }
  const char kind = arr.dtype().kind();
  // An empty list becomes a float64 array; it holds no values to misread.
  if (kind != 'i' && kind != 'u' && arr.size() > 0) {
    throw py::type_error(std::string(name) +
                         " must hold integers, got dtype " +
                         py::str(arr.dtype()).cast<std::string>());
  }
  auto out = py::array_t<std::int64_t,
                         py::array::c_style | py::array::forcecast>::ensure(arr);
  if (!out) throw py::error_already_set();
  return out;
}

py::tuple AsciiToTokenIds(py::handle labels, bool append_eos,
                          std::int64_t maxlen, bool pad_to_maxlen) {
  const std::vector<std::string> strings = LabelsToStrings(labels, "labels");
  text::AsciiTokenBatch result;
  {
    py::gil_scoped_release release;
    result = text::AsciiToTokenIds(strings, append_eos, maxlen, pad_to_maxlen);
  }
  const std::vector<py::ssize_t> shape = {result.batch, result.width};
  return py::make_tuple(VectorToArray(std::move(result.token_ids), shape),
                        VectorToArray(std::move(result.target_ids), shape),
                        VectorToArray(std::move(result.paddings), shape));
}

py::array IdToAscii(py::handle token_ids, py::handle seq_lengths) {
  const auto ids = ToInt64Array(token_ids, "token_ids", 2, "matrix");
  const auto lens = ToInt64Array(seq_lengths, "seq_lengths", 1, "vector");
  if (ids.shape(0) != lens.shape(0)) {
    throw py::value_error(
        "token_ids and seq_lengths must have the same batch size, got "
        "token_ids of shape " +
        ShapeString(ids) + " and seq_lengths of shape " + ShapeString(lens));
  }
  std::vector<std::string> strings;
  {
    py::gil_scoped_release release;
    strings = text::IdToAscii(ids.data(), ids.shape(0), ids.shape(1),
                              lens.data());
  }
  py::array out(py::dtype("O"),
                py::array::ShapeContainer{static_cast<py::ssize_t>(strings.size())});
  auto** slots = static_cast<PyObject**>(out.mutable_data());
  for (std::size_t i = 0; i < strings.size(); ++i) {
    // The fresh array holds None in every slot; swap in the owned bytes.
    PyObject* value = py::bytes(strings[i]).release().ptr();
    Py_XDECREF(slots[i]);
    slots[i] = value;
  }
  return out;
}

constexpr const char* kAsciiToTokenIdsDoc = R"doc(
Tokenizes a batch of strings into character ids of the fixed ASCII table.

Letters are lowercased; ``<unk>``, ``<s>``, ``</s>``, ``<noise>``,
``<epsilon>``, ``<text_only>`` and ``<sorw>`` are single tokens; any other
byte outside the table (each byte of a UTF-8 multibyte character included)
is ``<unk>`` (id 0). Each row keeps at most ``maxlen - 1`` ids so its ``</s>``
always fits.

Args:
  labels: A vector of strings (sequence of str/bytes, or a 1-D numpy str,
    bytes or object array). str is UTF-8 encoded.
  append_eos: Whether the ``</s>`` position of each row counts as real
    (padding 0.0) rather than padding (1.0).
  maxlen: The most positions a row may use, ``</s>`` included; >= 1.
  pad_to_maxlen: Whether the width is ``maxlen``; else the longest row plus
    one.

Returns:
  ``(token_ids, target_ids, paddings)``, each shaped [batch, width]:
  ``token_ids`` int32 is ``<s>`` (1) then the ids; ``target_ids`` int32 is the
  ids then ``</s>`` (2); positions past that hold 2 in both. ``paddings``
  float32 is 1.0 where padded.

Raises:
  ValueError: labels is not a vector, or maxlen < 1.
  TypeError: a label is neither str nor bytes.
)doc";

constexpr const char* kIdToAsciiDoc = R"doc(
Turns rows of ASCII-table ids back into strings.

Row ``b`` uses its first ``max(0, seq_lengths[b])`` ids, each mapped to its
symbol (ids outside the table give ``<unk>``), concatenated without
separator.

Args:
  token_ids: Integer ids shaped [batch, length].
  seq_lengths: Integer lengths shaped [batch]; each at most ``length``.

Returns:
  A numpy object array of bytes shaped [batch].

Raises:
  ValueError: token_ids is not a matrix, seq_lengths is not a vector, their
    batch sizes differ, or a length exceeds the row length.
  TypeError: an input does not hold integers.
)doc";

}  // namespace

void RegisterText(py::module_& m) {
  m.def("ascii_to_token_ids", &AsciiToTokenIds, py::arg("labels"),
        py::arg("append_eos").noconvert() = true, py::arg("maxlen") = 300,
        py::arg("pad_to_maxlen").noconvert() = true, kAsciiToTokenIdsDoc + 1);
  m.def("id_to_ascii", &IdToAscii, py::arg("token_ids"),
        py::arg("seq_lengths"), kIdToAsciiDoc + 1);
}

}  // namespace lingvo::ops::bindings
