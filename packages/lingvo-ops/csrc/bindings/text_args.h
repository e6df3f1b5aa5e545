// Argument conversion shared by the text bindings (text.cc, vocab.cc):
// batches of labels to byte strings, integer arrays to int64, and byte
// strings back to numpy object arrays.
#ifndef LINGVO_OPS_BINDINGS_TEXT_ARGS_H_
#define LINGVO_OPS_BINDINGS_TEXT_ARGS_H_

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <vector>

namespace lingvo::ops::bindings {

// The name of obj's type, for error messages.
std::string TypeName(pybind11::handle obj);

// "(2, 3)"-style shape of `arr`, for error messages.
std::string ShapeString(const pybind11::array& arr);

// A 1-D batch of labels (sequence of str/bytes or a 1-D numpy string array)
// as byte strings; str is UTF-8 encoded. Runs with the GIL held. Raises
// ValueError (not a vector) or TypeError (an element is not str/bytes),
// naming `name`.
std::vector<std::string> LabelsToStrings(pybind11::handle labels,
                                         const char* name);

// `obj` as a C-contiguous int64 array of rank `ndim`; copies only when the
// dtype or layout differ. `rank_word` ("vector", "matrix") names the rank
// in errors.
pybind11::array_t<std::int64_t, pybind11::array::c_style> ToInt64Array(
    pybind11::handle obj, const char* name, int ndim, const char* rank_word);

// A numpy object array of bytes holding `strings`, shaped [len(strings)].
pybind11::array BytesArray(const std::vector<std::string>& strings);

}  // namespace lingvo::ops::bindings

#endif  // LINGVO_OPS_BINDINGS_TEXT_ARGS_H_
