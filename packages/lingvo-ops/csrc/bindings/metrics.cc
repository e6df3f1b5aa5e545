// Python bindings of the metrics kernels (csrc/metrics/).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "bindings/bindings.h"
#include "metrics/best_step.h"
#include "metrics/edit_distance.h"

namespace py = pybind11;

namespace lingvo::ops::bindings {
namespace {

std::string TypeNameOf(py::handle obj) {
  return py::str(py::type::handle_of(obj).attr("__name__")).cast<std::string>();
}

bool IsText(py::handle item) {
  return PyUnicode_Check(item.ptr()) || PyBytes_Check(item.ptr());
}

// The items of a batch argument (a sequence, or an array whose first axis is
// the batch), with the GIL held.
std::vector<py::object> BatchItems(py::handle batch, const char* name) {
  if (IsText(batch)) {
    throw py::value_error(std::string(name) +
                          " must be a batch (sequence) of strings or of id "
                          "sequences, got a single " +
                          TypeNameOf(batch));
  }
  if (py::isinstance<py::array>(batch) &&
      py::reinterpret_borrow<py::array>(batch).ndim() == 0) {
    throw py::value_error(std::string(name) +
                          " must be a batch, got a 0-D array");
  }
  if (!py::isinstance<py::iterable>(batch)) {
    throw py::type_error(std::string(name) +
                         " must be a batch (sequence) of strings or of id "
                         "sequences, got " +
                         TypeNameOf(batch));
  }
  std::vector<py::object> items;
  for (py::handle item : batch) {
    items.push_back(py::reinterpret_borrow<py::object>(item));
  }
  return items;
}

std::string TextBytes(py::handle item) {
  if (PyBytes_Check(item.ptr())) {
    char* data = nullptr;
    Py_ssize_t size = 0;
    PyBytes_AsStringAndSize(item.ptr(), &data, &size);
    return std::string(data, static_cast<std::size_t>(size));
  }
  // Strict UTF-8: a str with a lone surrogate raises UnicodeEncodeError (a
  // ValueError) rather than being aligned as bytes it does not hold.
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(item.ptr(), &size);
  if (data == nullptr) throw py::error_already_set();
  return std::string(data, static_cast<std::size_t>(size));
}

py::array_t<std::int64_t, py::array::c_style> IdSequence(py::handle item,
                                                         const char* name,
                                                         std::size_t index) {
  const std::string where = std::string(name) + "[" + std::to_string(index) + "]";
  py::array arr = py::array::ensure(item);
  if (!arr || arr.ndim() != 1) {
    throw py::value_error(where +
                          " must be a string or a vector (1-D) of integer ids");
  }
  const char kind = arr.dtype().kind();
  if (kind != 'i' && kind != 'u' && arr.size() > 0) {
    throw py::type_error(where + " must hold integer ids, got dtype " +
                         py::str(arr.dtype()).cast<std::string>());
  }
  auto out = py::array_t<std::int64_t,
                         py::array::c_style | py::array::forcecast>::ensure(arr);
  if (!out) throw py::error_already_set();
  return out;
}

py::array EditDistance(py::handle hyps, py::handle refs,
                       const std::string& level) {
  metrics::Level kernel_level;
  if (level == "word") {
    kernel_level = metrics::Level::kWord;
  } else if (level == "char") {
    kernel_level = metrics::Level::kChar;
  } else {
    throw py::value_error("level must be 'word' or 'char', got '" + level + "'");
  }
  const std::vector<py::object> hyp_items = BatchItems(hyps, "hyps");
  const std::vector<py::object> ref_items = BatchItems(refs, "refs");
  if (hyp_items.size() != ref_items.size()) {
    throw py::value_error("hyps and refs must have the same batch size, got " +
                          std::to_string(hyp_items.size()) + " hyps and " +
                          std::to_string(ref_items.size()) + " refs");
  }
  const std::size_t batch = hyp_items.size();
  std::vector<metrics::EditCounts> counts;
  const bool text = batch > 0 && IsText(hyp_items[0]);
  if (text) {
    std::vector<std::string> hyp_text(batch);
    std::vector<std::string> ref_text(batch);
    for (std::size_t b = 0; b < batch; ++b) {
      for (auto [items, out, name] :
           {std::make_tuple(&hyp_items, &hyp_text, "hyps"),
            std::make_tuple(&ref_items, &ref_text, "refs")}) {
        const py::object& item = (*items)[b];
        if (!IsText(item)) {
          throw py::type_error(std::string(name) + "[" + std::to_string(b) +
                               "] must be str or bytes like hyps[0], got " +
                               TypeNameOf(item));
        }
        (*out)[b] = TextBytes(item);
      }
    }
    py::gil_scoped_release release;
    counts = metrics::EditDistanceTexts(hyp_text, ref_text, kernel_level);
  } else {
    // The arrays keep their buffers alive while the GIL is released.
    std::vector<py::array_t<std::int64_t, py::array::c_style>> arrays;
    arrays.reserve(2 * batch);
    std::vector<metrics::IdSpan> hyp_ids(batch);
    std::vector<metrics::IdSpan> ref_ids(batch);
    for (std::size_t b = 0; b < batch; ++b) {
      for (auto [items, out, name] :
           {std::make_tuple(&hyp_items, &hyp_ids, "hyps"),
            std::make_tuple(&ref_items, &ref_ids, "refs")}) {
        const py::object& item = (*items)[b];
        if (IsText(item)) {
          throw py::type_error(std::string(name) + "[" + std::to_string(b) +
                               "] is a string but hyps[0] holds ids");
        }
        arrays.push_back(IdSequence(item, name, b));
        (*out)[b] = {arrays.back().data(), arrays.back().shape(0)};
      }
    }
    py::gil_scoped_release release;
    counts = metrics::EditDistanceIds(hyp_ids, ref_ids);
  }
  std::vector<std::int64_t> flat;
  flat.reserve(4 * batch);
  for (const metrics::EditCounts& c : counts) {
    flat.insert(flat.end(),
                {c.substitutions, c.insertions, c.deletions, c.ref_length});
  }
  return VectorToArray(std::move(flat),
                       {static_cast<py::ssize_t>(batch), py::ssize_t{4}});
}

py::tuple BestStep(const std::string& hist_file, double tol, bool minimize,
                   const std::string& metric) {
  metrics::BestStepResult result;
  {
    py::gil_scoped_release release;
    result = metrics::BestStep(hist_file, static_cast<float>(tol), minimize,
                               metric);
  }
  return py::make_tuple(result.best_step, result.last_step, result.found);
}

}  // namespace

void RegisterMetrics(py::module_& m) {
  m.def("_edit_distance", &EditDistance, py::arg("hyps"), py::arg("refs"),
        py::arg("level") = "word",
        "[batch, 4] int64 (substitutions, insertions, deletions, ref_length); "
        "see lingvo.ops.edit_distance.");
  m.def("_best_step", &BestStep, py::arg("hist_file"), py::arg("tol") = 0.0,
        py::arg("minimize") = true, py::arg("metric") = "",
        "(best_step, last_step, found); see lingvo.ops.best_step.");
}

}  // namespace lingvo::ops::bindings
