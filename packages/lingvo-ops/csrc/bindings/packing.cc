// Python bindings of the packing kernels (csrc/packing/).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "bindings/bindings.h"
#include "packing/pack_ops.h"
#include "packing/pack_single_sequence.h"
#include "packing/row_packer.h"

namespace py = pybind11;

namespace lingvo::ops::bindings {
namespace {

using Int64Array = py::array_t<std::int64_t, py::array::c_style>;

std::string Shape(const py::array& arr) {
  std::string out = "(";
  for (py::ssize_t i = 0; i < arr.ndim(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(arr.shape(i));
  }
  if (arr.ndim() == 1) out += ",";
  return out + ")";
}

// `obj` as a C-contiguous int64 array of rank `ndim` (copied only when the
// dtype or layout differ).
Int64Array IntArray(py::handle obj, const char* name, int ndim,
                    const char* rank_word) {
  py::array arr = py::array::ensure(obj);
  if (!arr) {
    throw py::value_error(std::string(name) + " must be a " + rank_word +
                          " of integers");
  }
  if (arr.ndim() != ndim) {
    throw py::value_error(std::string(name) + " must be a " + rank_word +
                          " (" + std::to_string(ndim) +
                          "-D), got an array of shape " + Shape(arr));
  }
  const char kind = arr.dtype().kind();
  if (kind != 'i' && kind != 'u' && arr.size() > 0) {
    throw py::type_error(std::string(name) + " must hold integers, got dtype " +
                         py::str(arr.dtype()).cast<std::string>());
  }
  auto out = py::array_t<std::int64_t,
                         py::array::c_style | py::array::forcecast>::ensure(arr);
  if (!out) throw py::error_already_set();
  return out;
}

std::mt19937 SeededEngine(std::int64_t seed) {
  // Lingvo seeds with the attribute truncated to 32 bits; 0 means random.
  const auto seed32 = static_cast<std::uint32_t>(static_cast<std::uint64_t>(seed));
  if (seed32 == 0) return std::mt19937(std::random_device{}());
  return std::mt19937(seed32);
}

// Holds the generator between calls, as Lingvo's stateful op does.
class SequencePacker {
 public:
  SequencePacker(std::int64_t packed_batch_size, std::int64_t packed_src_seq_len,
                 std::int64_t packed_tgt_seq_len, std::int64_t seed)
      : packed_batch_size_(packed_batch_size),
        packed_src_seq_len_(packed_src_seq_len),
        packed_tgt_seq_len_(packed_tgt_seq_len),
        rng_(SeededEngine(seed)) {
    if (packed_batch_size < 0) {
      throw py::value_error("packed_batch_size must be >= 0, got " +
                            std::to_string(packed_batch_size));
    }
    if (packed_src_seq_len < 1 || packed_tgt_seq_len < 1) {
      throw py::value_error(
          "packed_src_seq_len and packed_tgt_seq_len must be >= 1, got " +
          std::to_string(packed_src_seq_len) + " and " +
          std::to_string(packed_tgt_seq_len));
    }
  }

  py::tuple Pack(py::handle src_actual_seq_len, py::handle tgt_actual_seq_len) {
    const Int64Array src =
        IntArray(src_actual_seq_len, "src_actual_seq_len", 1, "vector");
    const Int64Array tgt =
        IntArray(tgt_actual_seq_len, "tgt_actual_seq_len", 1, "vector");
    if (src.shape(0) != tgt.shape(0)) {
      throw py::value_error(
          "src_actual_seq_len must be the same shape as tgt_actual_seq_len, "
          "got " +
          Shape(src) + " and " + Shape(tgt));
    }
    packing::PackedSequences out;
    {
      // The generator is this object's state: holding mu_ keeps two threads
      // from drawing from it at once.
      py::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(mu_);
      out = packing::PackSequences(src.data(), tgt.data(), src.shape(0),
                                   packed_batch_size_, packed_src_seq_len_,
                                   packed_tgt_seq_len_, &rng_);
    }
    const std::vector<py::ssize_t> src_shape = {out.rows, out.src_len};
    const std::vector<py::ssize_t> tgt_shape = {out.rows, out.tgt_len};
    return py::make_tuple(
        VectorToArray(std::move(out.src_segment_ids), src_shape),
        VectorToArray(std::move(out.src_segment_pos), src_shape),
        VectorToArray(std::move(out.src_indices_in_input), src_shape),
        VectorToArray(std::move(out.tgt_segment_ids), tgt_shape),
        VectorToArray(std::move(out.tgt_segment_pos), tgt_shape),
        VectorToArray(std::move(out.tgt_indices_in_input), tgt_shape));
  }

 private:
  std::int64_t packed_batch_size_;
  std::int64_t packed_src_seq_len_;
  std::int64_t packed_tgt_seq_len_;
  std::mt19937 rng_;
  std::mutex mu_;
};

std::pair<Int64Array, Int64Array> PackingMatrices(py::handle segment_ids,
                                                  py::handle indices_in_input) {
  const Int64Array seg = IntArray(segment_ids, "segment_ids", 2, "matrix");
  const Int64Array idx =
      IntArray(indices_in_input, "indices_in_input", 2, "matrix");
  if (seg.shape(0) != idx.shape(0) || seg.shape(1) != idx.shape(1)) {
    throw py::value_error(
        "segment_ids and indices_in_input must be matrices of the same shape, "
        "got " +
        Shape(seg) + " and " + Shape(idx));
  }
  return {seg, idx};
}

py::array ApplyPackingGather(py::handle segment_ids, py::handle indices_in_input,
                             std::int64_t n, std::int64_t length) {
  auto [seg, idx] = PackingMatrices(segment_ids, indices_in_input);
  std::vector<std::int64_t> gather;
  {
    py::gil_scoped_release release;
    gather = packing::ApplyPackingGather(seg.data(), idx.data(), seg.shape(0),
                                         seg.shape(1), n, length);
  }
  return VectorToArray(std::move(gather), {seg.shape(0), seg.shape(1)});
}

py::tuple ApplyPackingRows(py::handle segment_ids, py::handle indices_in_input,
                           std::int64_t n) {
  auto [seg, idx] = PackingMatrices(segment_ids, indices_in_input);
  std::vector<std::int64_t> offsets;
  std::vector<std::int64_t> indices;
  {
    py::gil_scoped_release release;
    packing::ApplyPackingRows(seg.data(), idx.data(), seg.shape(0),
                              seg.shape(1), n, &offsets, &indices);
  }
  const auto num_offsets = static_cast<py::ssize_t>(offsets.size());
  const auto num_indices = static_cast<py::ssize_t>(indices.size());
  return py::make_tuple(VectorToArray(std::move(offsets), {num_offsets}),
                        VectorToArray(std::move(indices), {num_indices}));
}

py::tuple PackSingleSequence(py::handle input_lengths,
                             std::int64_t max_packed_length,
                             bool require_sequential_order) {
  const Int64Array lengths = IntArray(input_lengths, "input_lengths", 1, "vector");
  packing::PackedSingleSequence out;
  {
    // std::invalid_argument from the kernel reaches Python as ValueError.
    py::gil_scoped_release release;
    out = packing::PackSingleSequence(lengths.data(), lengths.shape(0),
                                      max_packed_length,
                                      require_sequential_order);
  }
  const std::vector<py::ssize_t> shape = {out.rows, out.width};
  return py::make_tuple(VectorToArray(std::move(out.segment_ids), shape),
                        VectorToArray(std::move(out.indices_in_input), shape));
}

}  // namespace

void RegisterPacking(py::module_& m) {
  py::class_<SequencePacker>(m, "SequencePacker", R"doc(
Packs examples' source and target lengths into rows, keeping its random
generator between calls (Lingvo's stateful ``PackSequences`` op).

See ``lingvo.ops.pack_sequences`` for the arguments and results.
)doc")
      .def(py::init<std::int64_t, std::int64_t, std::int64_t, std::int64_t>(),
           py::arg("packed_batch_size"), py::arg("packed_src_seq_len"),
           py::arg("packed_tgt_seq_len"), py::arg("seed") = 0)
      .def("__call__", &SequencePacker::Pack, py::arg("src_actual_seq_len"),
           py::arg("tgt_actual_seq_len"));

  m.def("_pack_single_sequence", &PackSingleSequence, py::arg("input_lengths"),
        py::arg("max_packed_length"), py::arg("require_sequential_order") = false);
  m.def("_apply_packing_gather", &ApplyPackingGather, py::arg("segment_ids"),
        py::arg("indices_in_input"), py::arg("n"), py::arg("length"));
  m.def("_apply_packing_rows", &ApplyPackingRows, py::arg("segment_ids"),
        py::arg("indices_in_input"), py::arg("n"));

  // The row packer itself, for tests of its placement rules.
  py::class_<packing::RowPacker>(m, "_RowPacker")
      .def(py::init<std::int64_t, std::vector<std::int64_t>, std::int64_t, bool,
                    std::int64_t, bool>(),
           py::arg("rows"), py::arg("times"), py::arg("align") = 1,
           py::arg("pack") = true, py::arg("spread_first_n") = 0,
           py::arg("use_last_fit") = false)
      .def("add",
           [](packing::RowPacker& self, std::vector<std::int64_t> lens)
               -> py::object {
             packing::RowPacker::Placement where;
             if (!self.Add(lens, &where)) return py::none();
             return py::make_tuple(where.row, py::tuple(py::cast(where.starts)),
                                   where.seq);
           },
           py::arg("lens"))
      .def("reset", &packing::RowPacker::Reset);
}

}  // namespace lingvo::ops::bindings
