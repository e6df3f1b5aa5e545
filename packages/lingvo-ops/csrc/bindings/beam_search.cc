// Python bindings of the beam-search kernels (csrc/beam_search/).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "beam_search/beam_search_step.h"
#include "beam_search/merging_pool.h"
#include "beam_search/terminated_hyps.h"
#include "bindings/bindings.h"

namespace py = pybind11;
namespace bs = lingvo::ops::beam_search;

namespace lingvo::ops::bindings {
namespace {

using Shape = std::vector<py::ssize_t>;

std::string ShapeText(const Shape& shape) {
  std::string out = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(shape[i]);
  }
  if (shape.size() == 1) out += ",";
  return out + ")";
}

Shape ShapeOf(const py::array& arr) {
  return Shape(arr.shape(), arr.shape() + arr.ndim());
}

// Which numpy kinds may be read as T: floats take numbers, ints take
// integers, bools take bools and integers.
template <typename T>
bool KindAccepted(char kind) {
  if constexpr (std::is_same_v<T, float>) {
    return kind == 'f' || kind == 'i' || kind == 'u' || kind == 'b';
  } else if constexpr (std::is_same_v<T, bool>) {
    return kind == 'b' || kind == 'i' || kind == 'u';
  } else {
    return kind == 'i' || kind == 'u' || kind == 'b';
  }
}

template <typename T>
const char* ElementWord() {
  if constexpr (std::is_same_v<T, float>) return "float32";
  if constexpr (std::is_same_v<T, bool>) return "bool";
  return "int32";
}

// `obj` as a C-contiguous array of T (converted only when needed) whose
// shape is checked against `expected` (-1 = any size); `what` spells the
// expected shape in words for the error message.
template <typename T>
py::array_t<T, py::array::c_style> Read(py::handle obj, const char* name,
                                        const Shape& expected,
                                        const std::string& what) {
  py::array arr = py::array::ensure(obj);
  if (!arr) {
    PyErr_Clear();
    throw py::type_error(std::string(name) + " must be a numpy array of " +
                         ElementWord<T>() + ", got " +
                         py::str(py::type::handle_of(obj).attr("__name__"))
                             .cast<std::string>());
  }
  if (!KindAccepted<T>(arr.dtype().kind()) && arr.size() > 0) {
    throw py::type_error(std::string(name) + " must hold " + ElementWord<T>() +
                         " values, got dtype " +
                         py::str(arr.dtype()).cast<std::string>());
  }
  bool ok = arr.ndim() == static_cast<py::ssize_t>(expected.size());
  for (size_t i = 0; ok && i < expected.size(); ++i) {
    ok = expected[i] < 0 || arr.shape(i) == expected[i];
  }
  if (!ok) {
    throw py::value_error(std::string(name) + " must have shape " + what +
                          ", got " + ShapeText(ShapeOf(arr)));
  }
  auto out = py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(arr);
  if (!out) throw py::error_already_set();
  return out;
}

// A state array the step writes into: the caller's own array when
// `inplace`, else a private copy.
template <typename T>
py::array_t<T, py::array::c_style> State(py::handle obj, const char* name,
                                         const Shape& expected,
                                         const std::string& what, bool inplace) {
  auto arr = Read<T>(obj, name, expected, what);
  if (inplace) {
    if (arr.ptr() != obj.ptr() || !arr.writeable()) {
      throw py::value_error(std::string(name) +
                            " must be a writable C-contiguous " +
                            ElementWord<T>() + " array when inplace=True");
    }
    return arr;
  }
  if (arr.ptr() != obj.ptr()) return arr;  // already a fresh conversion
  py::array_t<T, py::array::c_style> copy(ShapeOf(arr));
  if (arr.size() > 0) {
    std::memcpy(copy.mutable_data(), arr.data(), sizeof(T) * arr.size());
  }
  return copy;
}

std::string Dims(std::initializer_list<std::pair<const char*, py::ssize_t>> dims) {
  std::string names = "[";
  std::string values = "[";
  bool first = true;
  for (const auto& [label, value] : dims) {
    if (!first) {
      names += ", ";
      values += ", ";
    }
    first = false;
    names += label;
    values += std::to_string(value);
  }
  return names + "] = " + values + "]";
}

template <typename Fn>
auto RunKernel(Fn&& fn) {
  try {
    py::gil_scoped_release release;
    return fn();
  } catch (const bs::InvalidInput& e) {
    throw py::value_error(e.what());
  }
}

py::tuple BeamSearchStep(
    py::handle scores_obj, py::handle atten_probs_obj, py::handle best_scores_obj,
    py::handle cumulative_scores_obj, py::handle in_scores, py::handle in_hyps,
    py::handle in_prev_hyps, py::handle in_done_hyps, py::handle in_done_scores,
    py::handle in_done_cumulative_scores, py::handle in_done_atten_probs,
    py::handle in_atten_probs, py::handle in_beam_done, py::handle is_last_chunk,
    std::int64_t cur_step, std::int32_t eos_id, float beam_size,
    std::int32_t num_hyps_per_beam, std::int32_t eoc_id,
    float valid_eos_max_logit_delta, float local_eos_threshold, bool merge_paths,
    bool allow_empty_terminated_hyp, bool ensure_full_beam,
    bool force_eos_in_last_step, bool force_eos_in_top_k,
    bool force_last_chunk_eoc_in_top_k, std::int32_t merged_topk_buffer_size_factor,
    bool beam_independence, bool atten_vecs_in_hypothesis_protos, bool inplace) {
  const auto scores = Read<float>(scores_obj, "scores", {-1, -1}, "[N, V]");
  const py::ssize_t N = scores.shape(0);
  const py::ssize_t V = scores.shape(1);
  const auto atten = Read<float>(atten_probs_obj, "atten_probs", {N, -1},
                                 "[N, S] with " + Dims({{"N", N}}) +
                                     " (scores.shape[0])");
  const py::ssize_t S = atten.shape(1);
  auto best = State<float>(best_scores_obj, "best_scores", {-1}, "[B]", inplace);
  const py::ssize_t B = best.shape(0);
  if (B == 0 || N % B != 0 || N / B != num_hyps_per_beam) {
    throw py::value_error(
        "scores must have N = B * num_hyps_per_beam rows with B = "
        "best_scores.shape[0] = " + std::to_string(B) +
        " and num_hyps_per_beam = " + std::to_string(num_hyps_per_beam) +
        ", got N = " + std::to_string(N));
  }
  auto cum = State<float>(cumulative_scores_obj, "cumulative_scores", {N},
                          "[N] with " + Dims({{"N", N}}), inplace);
  const auto hyps_probe = py::array::ensure(in_hyps);
  if (!hyps_probe || hyps_probe.ndim() != 2) {
    throw py::value_error("in_hyps must have shape [T, N] (2-D)");
  }
  const py::ssize_t T = hyps_probe.shape(0);
  const std::string tn = "[T, N] with " + Dims({{"T", T}, {"N", N}}) +
                         " (T = in_hyps.shape[0], N = scores.shape[0])";
  const std::string tns = "[T, N, S] with " + Dims({{"T", T}, {"N", N}, {"S", S}}) +
                          " (S = atten_probs.shape[1])";
  auto out_scores = State<float>(in_scores, "in_scores", {T, N}, tn, inplace);
  auto out_hyps = State<std::int32_t>(in_hyps, "in_hyps", {T, N}, tn, inplace);
  auto out_prev = State<std::int32_t>(in_prev_hyps, "in_prev_hyps", {T, N}, tn, inplace);
  auto out_done = State<std::int32_t>(in_done_hyps, "in_done_hyps", {T, N}, tn, inplace);
  auto out_done_scores =
      State<float>(in_done_scores, "in_done_scores", {T, N}, tn, inplace);
  auto out_done_cum = State<float>(in_done_cumulative_scores,
                                   "in_done_cumulative_scores", {T, N}, tn, inplace);
  auto out_done_atten = State<float>(in_done_atten_probs, "in_done_atten_probs",
                                     {T, N, S}, tns, inplace);
  auto out_atten =
      State<float>(in_atten_probs, "in_atten_probs", {T, N, S}, tns, inplace);
  py::array_t<bool, py::array::c_style> beam_done;
  if (in_beam_done.is_none()) {
    beam_done = py::array_t<bool, py::array::c_style>(Shape{B});
    std::memset(beam_done.mutable_data(), 0, B);
  } else {
    beam_done = State<bool>(in_beam_done, "in_beam_done", {B},
                            "[B] with " + Dims({{"B", B}}) +
                                " (best_scores.shape[0])",
                            inplace);
  }
  py::array_t<bool, py::array::c_style> last_chunk;
  if (eoc_id >= 0 && !is_last_chunk.is_none()) {
    last_chunk = Read<bool>(is_last_chunk, "is_last_chunk", {N},
                            "[N] with " + Dims({{"N", N}}) + " when eoc_id >= 0");
  }

  bs::BeamSearchDims dims;
  dims.num_beams = B;
  dims.num_hyps = N;
  dims.vocab = V;
  dims.src_len = S;
  dims.max_steps = T;
  dims.cur_step = cur_step;
  bs::BeamSearchStepInputs inputs;
  inputs.scores = scores.data();
  inputs.atten_probs = atten.data();
  inputs.is_last_chunk =
      last_chunk ? reinterpret_cast<const std::uint8_t*>(last_chunk.data()) : nullptr;
  bs::BeamSearchStepOptions o;
  o.eos_id = eos_id;
  o.eoc_id = eoc_id;
  o.beam_size = beam_size;
  o.num_hyps_per_beam = num_hyps_per_beam;
  o.valid_eos_max_logit_delta = valid_eos_max_logit_delta;
  o.local_eos_threshold = local_eos_threshold;
  o.merge_paths = merge_paths;
  o.allow_empty_terminated_hyp = allow_empty_terminated_hyp;
  o.ensure_full_beam = ensure_full_beam;
  o.force_eos_in_last_step = force_eos_in_last_step;
  o.force_eos_in_top_k = force_eos_in_top_k;
  o.force_last_chunk_eoc_in_top_k = force_last_chunk_eoc_in_top_k;
  o.merged_topk_buffer_size_factor = merged_topk_buffer_size_factor;
  o.beam_independence = beam_independence;
  o.atten_vecs_in_hypothesis_protos = atten_vecs_in_hypothesis_protos;
  bs::BeamSearchState state;
  state.best_scores = best.mutable_data();
  state.cumulative_scores = cum.mutable_data();
  state.scores = out_scores.mutable_data();
  state.hyps = out_hyps.mutable_data();
  state.prev_hyps = out_prev.mutable_data();
  state.done_hyps = out_done.mutable_data();
  state.done_scores = out_done_scores.mutable_data();
  state.done_cumulative_scores = out_done_cum.mutable_data();
  state.done_atten_probs = out_done_atten.mutable_data();
  state.atten_probs = out_atten.mutable_data();
  state.beam_done = reinterpret_cast<std::uint8_t*>(beam_done.mutable_data());
  const bool all_done =
      RunKernel([&] { return bs::BeamSearchStep(dims, inputs, o, state); });
  return py::make_tuple(best, cum, out_scores, out_hyps, out_prev, out_done,
                        out_done_scores, out_done_cum, out_done_atten, out_atten,
                        beam_done, py::bool_(all_done));
}

py::tuple HypBatchToTuple(bs::HypBatch&& batch, Shape rows, bool with_normalized) {
  Shape ids_shape = rows;
  ids_shape.push_back(batch.max_len);
  Shape atten_shape = ids_shape;
  atten_shape.push_back(batch.src_len);
  py::tuple base = py::make_tuple(
      VectorToArray(std::move(batch.ids), ids_shape),
      VectorToArray(std::move(batch.lens), rows),
      VectorToArray(std::move(batch.scores), ids_shape),
      VectorToArray(std::move(batch.atten_probs), atten_shape));
  if (!with_normalized) return base;
  return py::make_tuple(base[0], base[1], base[2], base[3],
                        VectorToArray(std::move(batch.normalized), rows));
}

py::tuple TopKTerminatedHyps(py::handle scores_obj, py::handle hyps_obj,
                             py::handle prev_hyps_obj, py::handle done_hyps_obj,
                             py::handle done_scores_obj,
                             py::handle done_cumulative_scores_obj,
                             py::handle done_atten_probs_obj,
                             py::handle atten_probs_obj,
                             py::handle src_seq_lengths_obj, std::int32_t k,
                             std::int32_t num_hyps_per_beam,
                             float length_normalization, float coverage_penalty,
                             float target_seq_length_ratio, bool merge_paths) {
  const auto done = Read<std::int32_t>(done_hyps_obj, "done_hyps", {-1, -1}, "[T, N]");
  const py::ssize_t T = done.shape(0);
  const py::ssize_t N = done.shape(1);
  if (num_hyps_per_beam <= 0 || N % num_hyps_per_beam != 0) {
    throw py::value_error("done_hyps.shape[1] = " + std::to_string(N) +
                          " must be a multiple of num_hyps_per_beam = " +
                          std::to_string(num_hyps_per_beam));
  }
  if (k <= 0) throw py::value_error("k must be positive, got " + std::to_string(k));
  const py::ssize_t B = N / num_hyps_per_beam;
  const std::string tn = "[T, N] with " + Dims({{"T", T}, {"N", N}}) +
                         " (done_hyps.shape)";
  const auto scores = Read<float>(scores_obj, "scores", {T, N}, tn);
  const auto hyps = Read<std::int32_t>(hyps_obj, "hyps", {T, N}, tn);
  const auto prev = Read<std::int32_t>(prev_hyps_obj, "prev_hyps", {T, N}, tn);
  const auto done_scores = Read<float>(done_scores_obj, "done_scores", {T, N}, tn);
  const auto done_cum = Read<float>(done_cumulative_scores_obj,
                                    "done_cumulative_scores", {T, N}, tn);
  const auto lens = Read<std::int32_t>(
      src_seq_lengths_obj, "src_seq_lengths", {B},
      "[B] with " + Dims({{"B", B}}) + " (done_hyps.shape[1] / num_hyps_per_beam)");
  if (done_atten_probs_obj.is_none() != atten_probs_obj.is_none()) {
    throw py::value_error(
        "done_atten_probs and atten_probs must both be arrays or both None");
  }
  py::array_t<float, py::array::c_style> atten;
  py::array_t<float, py::array::c_style> done_atten;
  py::ssize_t S = 0;
  if (!atten_probs_obj.is_none()) {
    atten = Read<float>(atten_probs_obj, "atten_probs", {T, N, -1},
                        "[T, N, S] with " + Dims({{"T", T}, {"N", N}}));
    S = atten.shape(2);
    done_atten = Read<float>(done_atten_probs_obj, "done_atten_probs", {T, N, S},
                             "[T, N, S] with " +
                                 Dims({{"T", T}, {"N", N}, {"S", S}}) +
                                 " (atten_probs.shape)");
  }
  bs::SearchHistory h;
  h.max_steps = T;
  h.num_hyps = N;
  h.src_len = S;
  h.scores = scores.data();
  h.hyps = hyps.data();
  h.prev_hyps = prev.data();
  h.done_hyps = done.data();
  h.done_scores = done_scores.data();
  h.done_cumulative_scores = done_cum.data();
  h.atten_probs = atten ? atten.data() : nullptr;
  h.done_atten_probs = done_atten ? done_atten.data() : nullptr;
  bs::TopKOptions o;
  o.k = k;
  o.num_hyps_per_beam = num_hyps_per_beam;
  o.length_normalization = length_normalization;
  o.coverage_penalty = coverage_penalty;
  o.target_seq_length_ratio = target_seq_length_ratio;
  o.merge_paths = merge_paths;
  bs::HypBatch batch =
      RunKernel([&] { return bs::TopKTerminatedHyps(h, lens.data(), o); });
  return HypBatchToTuple(std::move(batch), Shape{B, k}, true);
}

py::tuple UnpackHyp(py::handle ids_obj, py::handle lens_obj,
                    py::handle normalized_obj, std::int64_t max_seq_length) {
  py::array ids_probe = py::array::ensure(ids_obj);
  if (!ids_probe || ids_probe.ndim() < 1) {
    throw py::value_error("ids must have shape [..., L] (at least 1-D)");
  }
  Shape rows = ShapeOf(ids_probe);
  rows.pop_back();
  Shape any_ids = rows;
  any_ids.push_back(-1);
  const std::string what = "ids.shape[:-1] = " + ShapeText(rows);
  const auto ids = Read<std::int32_t>(ids_obj, "ids", any_ids, "[..., L]");
  const auto lens = Read<std::int32_t>(lens_obj, "lens", rows, what);
  const auto normalized = Read<float>(normalized_obj, "normalized_scores", rows, what);
  if (max_seq_length < 0) {
    throw py::value_error("max_seq_length must be >= 0, got " +
                          std::to_string(max_seq_length));
  }
  py::ssize_t M = 1;
  for (auto d : rows) M *= d;
  const py::ssize_t L = ids.shape(ids.ndim() - 1);
  bs::UnpackedHyps out = RunKernel([&] {
    return bs::UnpackHyp(M, L, ids.data(), lens.data(), normalized.data(),
                         max_seq_length);
  });
  const py::ssize_t width = out.max_len;
  return py::make_tuple(VectorToArray(std::move(out.ids), Shape{M, width}),
                        VectorToArray(std::move(out.lens), Shape{M}),
                        VectorToArray(std::move(out.scores), Shape{M}));
}

py::tuple HypsFromBeamSearchOuts(py::handle hyps_obj, py::handle prev_hyps_obj,
                                 py::handle done_hyps_obj, py::handle scores_obj,
                                 py::handle atten_probs_obj,
                                 py::handle eos_scores_obj,
                                 py::handle eos_atten_probs_obj,
                                 std::int32_t eos_id,
                                 std::int32_t num_hyps_per_beam) {
  const auto hyps = Read<std::int32_t>(hyps_obj, "hyps", {-1, -1}, "[T, N]");
  const py::ssize_t T = hyps.shape(0);
  const py::ssize_t N = hyps.shape(1);
  if (num_hyps_per_beam <= 0 || N % num_hyps_per_beam != 0) {
    throw py::value_error("hyps.shape[1] = " + std::to_string(N) +
                          " must be a multiple of num_hyps_per_beam = " +
                          std::to_string(num_hyps_per_beam));
  }
  const std::string tn = "[T, N] with " + Dims({{"T", T}, {"N", N}}) + " (hyps.shape)";
  const auto prev = Read<std::int32_t>(prev_hyps_obj, "prev_hyps", {T, N}, tn);
  const auto done = Read<bool>(done_hyps_obj, "done_hyps", {T, N}, tn);
  const auto scores = Read<float>(scores_obj, "scores", {T, N}, tn);
  const auto eos_scores = Read<float>(eos_scores_obj, "eos_scores", {T, N}, tn);
  const auto atten = Read<float>(atten_probs_obj, "atten_probs", {T, N, -1},
                                 "[T, N, S] with " + Dims({{"T", T}, {"N", N}}));
  const py::ssize_t S = atten.shape(2);
  const auto eos_atten = Read<float>(
      eos_atten_probs_obj, "eos_atten_probs", {T, N, S},
      "[T, N, S] with " + Dims({{"T", T}, {"N", N}, {"S", S}}) + " (atten_probs.shape)");
  bs::BeamSearchOuts o;
  o.max_steps = T;
  o.num_hyps = N;
  o.src_len = S;
  o.hyps = hyps.data();
  o.prev_hyps = prev.data();
  o.done_hyps = reinterpret_cast<const std::uint8_t*>(done.data());
  o.scores = scores.data();
  o.atten_probs = atten.data();
  o.eos_scores = eos_scores.data();
  o.eos_atten_probs = eos_atten.data();
  bs::HypBatch batch = RunKernel([&] { return bs::HypsFromBeamSearchOuts(o, eos_id); });
  return HypBatchToTuple(std::move(batch), Shape{T, N}, false);
}

// `obj` read as T of `expected` shape, or an empty array when it is None and
// not `required` (`why` says when it is required).
template <typename T>
py::array_t<T, py::array::c_style> ReadOptional(py::handle obj, const char* name,
                                                const Shape& expected,
                                                const std::string& what,
                                                bool required, const char* why) {
  if (obj.is_none()) {
    if (required) throw py::value_error(std::string(name) + " is required " + why);
    return py::array_t<T, py::array::c_style>();
  }
  return Read<T>(obj, name, expected, what);
}

py::tuple TopKFromBeamSearchOuts(
    py::handle hyps_obj, py::handle prev_hyps_obj, py::handle done_hyps_obj,
    py::handle cumulative_scores_obj, py::handle eos_scores_obj,
    py::handle scores_obj, py::handle atten_probs_obj,
    py::handle eos_atten_probs_obj, py::handle cumulative_atten_probs_obj,
    std::int32_t num_hyps_per_beam, std::int64_t max_seq_length,
    float length_normalization, float coverage_penalty, std::int32_t eos_id,
    float target_seq_length_ratio, bool populate_topk_hyps) {
  const auto hyps = Read<std::int32_t>(hyps_obj, "hyps", {-1, -1}, "[T, N]");
  const py::ssize_t T = hyps.shape(0);
  const py::ssize_t N = hyps.shape(1);
  const std::string tn = "[T, N] with " + Dims({{"T", T}, {"N", N}}) + " (hyps.shape)";
  const auto prev = Read<std::int32_t>(prev_hyps_obj, "prev_hyps", {T, N}, tn);
  const auto done = Read<bool>(done_hyps_obj, "done_hyps", {T, N}, tn);
  const auto cum = Read<float>(cumulative_scores_obj, "cumulative_scores", {T, N}, tn);
  const auto eos_scores = Read<float>(eos_scores_obj, "eos_scores", {T, N}, tn);
  const bool coverage = coverage_penalty > 0.0f;
  const char* for_hyps = "when populate_topk_hyps is True";
  const auto scores = ReadOptional<float>(scores_obj, "scores", {T, N}, tn,
                                          populate_topk_hyps, for_hyps);
  // S comes from whichever attention input is given.
  py::ssize_t S = 0;
  const std::pair<py::handle, const char*> attention[] = {
      {atten_probs_obj, "atten_probs"},
      {eos_atten_probs_obj, "eos_atten_probs"},
      {cumulative_atten_probs_obj, "cumulative_atten_probs"}};
  for (const auto& [obj, name] : attention) {
    if (obj.is_none()) continue;
    S = Read<float>(obj, name, {T, N, -1}, "[T, N, S] with " + Dims({{"T", T}, {"N", N}}))
            .shape(2);
    break;
  }
  const std::string tns = "[T, N, S] with " + Dims({{"T", T}, {"N", N}, {"S", S}});
  const auto atten = ReadOptional<float>(atten_probs_obj, "atten_probs", {T, N, S}, tns,
                                         populate_topk_hyps, for_hyps);
  const auto eos_atten = ReadOptional<float>(eos_atten_probs_obj, "eos_atten_probs",
                                             {T, N, S}, tns, populate_topk_hyps, for_hyps);
  const auto cum_atten =
      ReadOptional<float>(cumulative_atten_probs_obj, "cumulative_atten_probs", {T, N, S},
                          tns, coverage, "when coverage_penalty > 0");
  bs::BeamSearchOuts o;
  o.max_steps = T;
  o.num_hyps = N;
  o.src_len = S;
  o.hyps = hyps.data();
  o.prev_hyps = prev.data();
  o.done_hyps = reinterpret_cast<const std::uint8_t*>(done.data());
  o.eos_scores = eos_scores.data();
  o.scores = scores ? scores.data() : nullptr;
  o.atten_probs = atten ? atten.data() : nullptr;
  o.eos_atten_probs = eos_atten ? eos_atten.data() : nullptr;
  bs::TopKFromOutsOptions opt;
  opt.num_hyps_per_beam = num_hyps_per_beam;
  opt.max_seq_length = max_seq_length;
  opt.eos_id = eos_id;
  opt.length_normalization = length_normalization;
  opt.coverage_penalty = coverage_penalty;
  opt.target_seq_length_ratio = target_seq_length_ratio;
  opt.populate_topk_hyps = populate_topk_hyps;
  bs::TopKFromOuts out = RunKernel([&] {
    return bs::TopKFromBeamSearchOuts(o, cum.data(),
                                      cum_atten ? cum_atten.data() : nullptr, opt);
  });
  const py::ssize_t width = out.top.max_len;
  py::object topk_hyps = py::none();
  if (populate_topk_hyps) {
    const py::ssize_t B = N / num_hyps_per_beam;
    topk_hyps = HypBatchToTuple(std::move(out.hyps), Shape{B, num_hyps_per_beam}, true);
  }
  return py::make_tuple(VectorToArray(std::move(out.top.ids), Shape{N, width}),
                        VectorToArray(std::move(out.top.lens), Shape{N}),
                        VectorToArray(std::move(out.top.scores), Shape{N}), topk_hyps);
}

// Test hook: the per-beam pool of beam_search_step on its own, so that the
// buffer, cut and merge rules can be checked against Lingvo's TopK tests.
class MergingPoolHook {
 public:
  MergingPoolHook(int k, int buffer_size_factor, std::int32_t epsilon_id)
      : pool_(CheckedK(k, buffer_size_factor), k * buffer_size_factor, epsilon_id,
              &prefixes_) {}

  // Offers the extension of slot `slot` (whose epsilon-free label prefix is
  // `prefix`) by `word`; returns the score a later candidate must beat.
  float Add(std::int32_t slot, std::int32_t word, float local, float global,
            std::vector<std::int32_t> prefix) {
    if (slot < 0) throw py::value_error("slot must be >= 0");
    if (static_cast<std::size_t>(slot) >= prefixes_.size()) prefixes_.resize(slot + 1);
    prefixes_[slot] = std::move(prefix);
    pool_.Add(bs::Candidate{word, slot, local, global});
    return pool_.Bottom();
  }

  // The best k as (slot, word, local, global), best first.
  std::vector<std::tuple<std::int32_t, std::int32_t, float, float>> Items() {
    std::vector<std::tuple<std::int32_t, std::int32_t, float, float>> out;
    for (const bs::Candidate& c : pool_.Sorted()) {
      out.emplace_back(c.slot, c.word, c.local, c.global);
    }
    return out;
  }

 private:
  static int CheckedK(int k, int factor) {
    if (k <= 0 || factor < 1) {
      throw py::value_error("k must be > 0 and buffer_size_factor >= 1, got " +
                            std::to_string(k) + " and " + std::to_string(factor));
    }
    return k;
  }

  std::vector<std::vector<std::int32_t>> prefixes_;  // before pool_, which points here
  bs::MergingPool pool_;
};

constexpr const char* kBeamSearchStepDoc = R"doc(
One step of hyp-major beam search (Lingvo's ``BeamSearchStepV2``).

B beams of K = ``num_hyps_per_beam`` hyps, N = K * B; hyp j of beam b is at
index ``j * B + b``. T decode steps, V words, S source positions. Each hyp
extends by its best K + 1 words (K + 2 with ``eoc_id``); eos (and, on the last
chunk, eoc) candidates terminate instead of entering the beam; each beam keeps
its best K extensions. Row ``cur_step`` of the history is written. A hyp
terminated at step t from slot i is recorded at ``[t, i]`` of the ``done_*``
arrays (terminal symbol, its local and global score, its attention); its
earlier steps are the back-pointer chain from slot i at step t - 1.

Args:
  scores: float32 [N, V] local scores of this step.
  atten_probs: float32 [N, S] attention of this step.
  best_scores: float32 [B] best terminated global score per beam.
  cumulative_scores: float32 [N] global score of each hyp so far.
  in_scores: float32 [T, N] local score history.
  in_hyps: int32 [T, N] token history.
  in_prev_hyps: int32 [T, N] back-pointers to the slot of the previous step.
  in_done_hyps: int32 [T, N] terminal symbol of hyps terminated at (t, slot),
    -1 where none.
  in_done_scores: float32 [T, N] local score of the terminal symbol.
  in_done_cumulative_scores: float32 [T, N] global score of the terminated hyp.
  in_done_atten_probs: float32 [T, N, S] attention of the terminal step.
  in_atten_probs: float32 [T, N, S] attention history.
  in_beam_done: bool [B] done flags, or None (all False).
  is_last_chunk: bool [N]; read only when ``eoc_id >= 0`` (else may be None).
  cur_step: The step t, 0 <= t < T.
  eos_id, beam_size, num_hyps_per_beam, eoc_id, valid_eos_max_logit_delta,
    local_eos_threshold, merge_paths, allow_empty_terminated_hyp,
    ensure_full_beam, force_eos_in_last_step, force_eos_in_top_k,
    force_last_chunk_eoc_in_top_k, merged_topk_buffer_size_factor,
    beam_independence, atten_vecs_in_hypothesis_protos: Lingvo's attributes.
  inplace: Write into the state arrays passed in (each must be a writable
    C-contiguous array of the right dtype) instead of copies.

Returns:
  ``(best_scores, cumulative_scores, scores, hyps, prev_hyps, done_hyps,
  done_scores, done_cumulative_scores, done_atten_probs, atten_probs,
  beam_done, all_done)``: the updated state, in input order, and a bool.

Raises:
  ValueError: A shape does not match, an attribute or id is out of range, or
    a score row holds only NaN.
  TypeError: An input has the wrong kind of elements.
)doc";

constexpr const char* kTopKTerminatedHypsDoc = R"doc(
The best k terminated hyps of each beam (Lingvo's ``TopKTerminatedHyps``).

Ranks every recorded termination by the GNMT score
``sum(scores) / ((L + 5)**alpha / 5**alpha) + r * beta * sum_{p < n}
log(clip(c_p / r, 0.001, 0.5))`` with L the hyp length (terminal included),
c_p the attention it put on source position p summed over its steps and n
the beam's source length; ties go to the shorter hyp.

Args:
  scores, hyps, prev_hyps: [T, N] history from ``beam_search_step``.
  done_hyps, done_scores, done_cumulative_scores: [T, N] terminations.
  done_atten_probs, atten_probs: [T, N, S] attention, or both None.
  src_seq_lengths: int32 [B] source lengths.
  k: Hyps kept per beam.
  num_hyps_per_beam: K; B = N / K.
  length_normalization: alpha >= 0.
  coverage_penalty: beta >= 0.
  target_seq_length_ratio: r.
  merge_paths: The search merged paths: each step scores the hyp's global
    score divided by its length.

Returns:
  ``(ids, lens, scores, atten_probs, normalized_scores)``: int32 [B, k, T],
  int32 [B, k] (0 = no hyp), float32 [B, k, T], float32 [B, k, T, S] and
  float32 [B, k]; row ``[b, j]`` is the j-th best hyp of beam b.

Raises:
  ValueError: A shape does not match or a back-pointer is out of range.
  TypeError: An input has the wrong kind of elements.
)doc";

constexpr const char* kUnpackHypDoc = R"doc(
Flattens hyps to padded id rows (Lingvo's ``UnpackHyp``).

Args:
  ids: int32 [..., L] hyp tokens, e.g. the [B, k, T] of
    ``top_k_terminated_hyps``.
  lens: int32 [...] hyp lengths.
  normalized_scores: float32 [...] hyp scores.
  max_seq_length: Width of the result; 0 = the longest hyp.

Returns:
  ``(ids, lens, scores)``: int32 [M, max_seq_length] zero padded, int32 [M]
  lengths clipped to the width and float32 [M], M the product of the leading
  dimensions (beam-major: row ``b * k + j``).

Raises:
  ValueError: A shape does not match or max_seq_length < 0.
)doc";

constexpr const char* kHypsFromBeamSearchOutsDoc = R"doc(
The terminated hyps of TPU-style beam-search outputs (Lingvo's
``HypsFromBeamSearchOuts``).

Args:
  hyps: int32 [T, N] tokens.
  prev_hyps: int32 [T, N] back-pointers.
  done_hyps: bool [T, N] whether a hyp terminated at (t, n).
  scores: float32 [T, N] local scores.
  atten_probs: float32 [T, N, S] attention.
  eos_scores: float32 [T, N] local score of eos.
  eos_atten_probs: float32 [T, N, S] attention of the eos step.
  eos_id: The terminal symbol.
  num_hyps_per_beam: K; row (t, n) belongs to beam n % (N / K).

Returns:
  ``(ids, lens, scores, atten_probs)``: int32 [T, N, T], int32 [T, N] (0 where
  nothing terminated), float32 [T, N, T] and float32 [T, N, T, S].

Raises:
  ValueError: A shape does not match or a back-pointer is out of range.
)doc";

constexpr const char* kTopKFromBeamSearchOutsDoc = R"doc(
The best hyps of each beam straight from TPU-style beam-search outputs
(Lingvo's ``TopKFromBeamSearchOuts``: ``hyps_from_beam_search_outs``,
``top_k_terminated_hyps`` and ``unpack_hyp`` in one pass).

The hyp terminated at (t, n) scores ``eos_scores[t, n] +
cumulative_scores[t - 1, n]`` (t > 0), has length t + 1 and ranks by
``score / ((t + 6) / 5)**alpha + r * beta * sum_p log(clip(c_p / r, 0.001,
0.5))`` with c = ``cumulative_atten_probs[t, n]`` over all S positions; ties go
to the earlier step, then the smaller slot. Each beam keeps its best K.

Args:
  hyps: int32 [T, N] tokens.
  prev_hyps: int32 [T, N] back-pointers (within the beam).
  done_hyps: bool [T, N] whether a hyp terminated at (t, n).
  cumulative_scores: float32 [T, N] global score of each hyp after step t.
  eos_scores: float32 [T, N] local score of eos.
  scores: float32 [T, N] local scores; needed with ``populate_topk_hyps``.
  atten_probs, eos_atten_probs: float32 [T, N, S]; needed with
    ``populate_topk_hyps``.
  cumulative_atten_probs: float32 [T, N, S] attention summed over the steps;
    needed when ``coverage_penalty > 0``.
  length_normalization: alpha >= 0.
  coverage_penalty: beta >= 0.
  num_hyps_per_beam: K; slot n belongs to beam n % (N / K).
  max_seq_length: Width of the id rows (> 0).
  eos_id: The terminal symbol written at position t.
  target_seq_length_ratio: r.
  populate_topk_hyps: Also return the kept hyps in full.

Returns:
  ``(ids, seq_lens, scores, topk_hyps)``, beam-major (row ``b * K + j`` is
  the j-th best of beam b): int32 [N, max_seq_length] tokens (eos at t; a
  longer hyp is cut to the width), int32 [N] lengths t + 1 (0 = no hyp;
  Lingvo's length even when the row was cut) and float32 [N] ranking
  scores. ``topk_hyps`` is None, or with ``populate_topk_hyps`` the tuple
  ``(ids, lens, scores, atten_probs, normalized_scores)`` shaped [B, K, T],
  [B, K], [B, K, T], [B, K, T, S] and [B, K], as ``top_k_terminated_hyps``
  returns it (per-step local scores, eos last).

Raises:
  ValueError: A shape does not match, an input needed by the options is
    None, an attribute is out of range, or a back-pointer leaves its beam.
  TypeError: An input has the wrong kind of elements.
)doc";

}  // namespace

void RegisterBeamSearch(py::module_& m) {
  m.def("beam_search_step", &BeamSearchStep, py::arg("scores"),
        py::arg("atten_probs"), py::arg("best_scores"),
        py::arg("cumulative_scores"), py::arg("in_scores"), py::arg("in_hyps"),
        py::arg("in_prev_hyps"), py::arg("in_done_hyps"),
        py::arg("in_done_scores"), py::arg("in_done_cumulative_scores"),
        py::arg("in_done_atten_probs"), py::arg("in_atten_probs"),
        py::arg("in_beam_done").none(true), py::arg("is_last_chunk").none(true),
        py::arg("cur_step"), py::kw_only(), py::arg("eos_id"),
        py::arg("beam_size"), py::arg("num_hyps_per_beam"),
        py::arg("eoc_id") = -1, py::arg("valid_eos_max_logit_delta") = 5.0f,
        py::arg("local_eos_threshold") = -100.0f,
        py::arg("merge_paths") = false,
        py::arg("allow_empty_terminated_hyp") = true,
        py::arg("ensure_full_beam") = false,
        py::arg("force_eos_in_last_step") = false,
        py::arg("force_eos_in_top_k") = false,
        py::arg("force_last_chunk_eoc_in_top_k") = false,
        py::arg("merged_topk_buffer_size_factor") = 2,
        py::arg("beam_independence") = false,
        py::arg("atten_vecs_in_hypothesis_protos") = true,
        py::arg("inplace") = false, kBeamSearchStepDoc + 1);
  m.def("top_k_terminated_hyps", &TopKTerminatedHyps, py::arg("scores"),
        py::arg("hyps"), py::arg("prev_hyps"), py::arg("done_hyps"),
        py::arg("done_scores"), py::arg("done_cumulative_scores"),
        py::arg("done_atten_probs").none(true), py::arg("atten_probs").none(true),
        py::arg("src_seq_lengths"), py::kw_only(), py::arg("k"),
        py::arg("num_hyps_per_beam"), py::arg("length_normalization") = 0.0f,
        py::arg("coverage_penalty") = 0.0f,
        py::arg("target_seq_length_ratio") = 1.0f,
        py::arg("merge_paths") = false, kTopKTerminatedHypsDoc + 1);
  m.def("unpack_hyp", &UnpackHyp, py::arg("ids"), py::arg("lens"),
        py::arg("normalized_scores"), py::arg("max_seq_length") = 0,
        kUnpackHypDoc + 1);
  m.def("hyps_from_beam_search_outs", &HypsFromBeamSearchOuts, py::arg("hyps"),
        py::arg("prev_hyps"), py::arg("done_hyps"), py::arg("scores"),
        py::arg("atten_probs"), py::arg("eos_scores"),
        py::arg("eos_atten_probs"), py::kw_only(), py::arg("eos_id"),
        py::arg("num_hyps_per_beam"), kHypsFromBeamSearchOutsDoc + 1);
  py::class_<MergingPoolHook>(m, "_MergingPool")
      .def(py::init<int, int, std::int32_t>(), py::arg("k"),
           py::arg("buffer_size_factor"), py::arg("epsilon_id"))
      .def("add", &MergingPoolHook::Add, py::arg("slot"), py::arg("word"),
           py::arg("local"), py::arg("global_score"), py::arg("prefix"))
      .def("items", &MergingPoolHook::Items);
  m.def("top_k_from_beam_search_outs", &TopKFromBeamSearchOuts, py::arg("hyps"),
        py::arg("prev_hyps"), py::arg("done_hyps"), py::arg("cumulative_scores"),
        py::arg("eos_scores"), py::arg("scores").none(true) = py::none(),
        py::arg("atten_probs").none(true) = py::none(),
        py::arg("eos_atten_probs").none(true) = py::none(),
        py::arg("cumulative_atten_probs").none(true) = py::none(), py::kw_only(),
        py::arg("num_hyps_per_beam"), py::arg("max_seq_length"),
        py::arg("length_normalization") = 0.0f, py::arg("coverage_penalty") = 0.0f,
        py::arg("eos_id") = 2, py::arg("target_seq_length_ratio") = 1.0f,
        py::arg("populate_topk_hyps") = false, kTopKFromBeamSearchOutsDoc + 1);
}

}  // namespace lingvo::ops::bindings
