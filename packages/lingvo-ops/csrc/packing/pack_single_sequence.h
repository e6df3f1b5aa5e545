// PackSingleSequence: packs items of one length each into as few rows of a
// fixed width as the chosen strategy gives.
//
// Plain C++17: no Python, no pybind11 and no TensorFlow.
#ifndef LINGVO_OPS_PACKING_PACK_SINGLE_SEQUENCE_H_
#define LINGVO_OPS_PACKING_PACK_SINGLE_SEQUENCE_H_

#include <cstdint>
#include <vector>

namespace lingvo::ops::packing {

// Row-major [rows, width] results of PackSingleSequence.
struct PackedSingleSequence {
  int64_t rows = 0;
  int64_t width = 0;
  // 1-based position of the item among its row's items (zero-length items
  // count too), 0 where padded.
  std::vector<int32_t> segment_ids;
  // The item's index in the input, -1 where padded.
  std::vector<int32_t> indices_in_input;
};

// Packs item i of `lengths[i]` positions into rows of `max_packed_length`.
//
// With `sequential` the items fill rows in input order: each goes into the
// last row, or into a new row when it would overflow it. Otherwise the rows
// come from best-fit decreasing: items sorted by length (longest first, ties
// by index) each go into the open row with the least room left that still
// holds them (ties: the earliest row), or into a new row. Either way a row
// lays its items out in increasing input index. Zero-length items take a
// segment id but no position; n > 0 items always give at least one row.
//
// Throws std::invalid_argument when `max_packed_length` < 0 or a length is
// outside [0, max_packed_length] (naming the index).
PackedSingleSequence PackSingleSequence(const int64_t* lengths, int64_t n,
                                        int64_t max_packed_length,
                                        bool sequential);

}  // namespace lingvo::ops::packing

#endif  // LINGVO_OPS_PACKING_PACK_SINGLE_SEQUENCE_H_
