// Registration hooks of the binding areas and helpers they share.
#ifndef LINGVO_OPS_BINDINGS_BINDINGS_H_
#define LINGVO_OPS_BINDINGS_BINDINGS_H_

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <memory>
#include <utility>
#include <vector>

namespace lingvo::ops::bindings {

// Adds the text kernels (tokenizers) to the module.
void RegisterText(pybind11::module_& m);

// Adds the beam-search kernels to the module.
void RegisterBeamSearch(pybind11::module_& m);

// Adds the input kernels (TFRecord I/O, record yielder, bucketing batcher).
void RegisterInput(pybind11::module_& m);

// Adds the packing kernels (PackSequences, ApplyPacking).
void RegisterPacking(pybind11::module_& m);

// Adds the metrics kernels (edit distance, BestStep).
void RegisterMetrics(pybind11::module_& m);

// Adds the vocabulary, word-piece, BPE and MLPerf subword kernels (csrc/text/).
void RegisterVocab(pybind11::module_& m);

// Hands `values` to a new numpy array of `shape` without copying: the array
// owns the vector through a capsule and frees it when collected.
template <typename T>
pybind11::array_t<T> VectorToArray(std::vector<T>&& values,
                                   std::vector<pybind11::ssize_t> shape) {
  auto owned = std::make_unique<std::vector<T>>(std::move(values));
  T* data = owned->data();
  pybind11::capsule owner(owned.get(), [](void* p) {
    delete static_cast<std::vector<T>*>(p);
  });
  owned.release();
  return pybind11::array_t<T>(std::move(shape), data, owner);
}

}  // namespace lingvo::ops::bindings

#endif  // LINGVO_OPS_BINDINGS_BINDINGS_H_
