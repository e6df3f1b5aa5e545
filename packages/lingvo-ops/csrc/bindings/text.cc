// Python bindings of the text kernels (csrc/text/).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "bindings/bindings.h"
#include "bindings/text_args.h"
#include "text/ascii_tokenizer.h"

namespace py = pybind11;

namespace lingvo::ops::bindings {
namespace {

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
  return BytesArray(strings);
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
