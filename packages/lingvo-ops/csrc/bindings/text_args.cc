#include "bindings/text_args.h"

#include <cstddef>
#include <string>
#include <vector>

namespace py = pybind11;

namespace lingvo::ops::bindings {
namespace {

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

}  // namespace

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

py::array BytesArray(const std::vector<std::string>& strings) {
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

}  // namespace lingvo::ops::bindings
