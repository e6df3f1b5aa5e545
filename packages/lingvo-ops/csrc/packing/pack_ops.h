// Packing of several short examples into fixed-size rows: PackSequences
// computes where each example goes, ApplyPacking gathers the data there.
//
// Plain C++17: no Python, no pybind11 and no TensorFlow.
#ifndef LINGVO_OPS_PACKING_PACK_OPS_H_
#define LINGVO_OPS_PACKING_PACK_OPS_H_

#include <cstdint>
#include <random>
#include <vector>

namespace lingvo::ops::packing {

// Row-major [rows, src_len] and [rows, tgt_len] results of PackSequences.
// Padding positions hold 0 in every array.
struct PackedSequences {
  int64_t rows = 0;
  int64_t src_len = 0;
  int64_t tgt_len = 0;
  std::vector<int32_t> src_segment_ids;  // 1-based item order within the row.
  std::vector<int32_t> src_segment_pos;  // 0, 1, ... within each item.
  std::vector<int32_t> src_indices_in_input;
  std::vector<int32_t> tgt_segment_ids;
  std::vector<int32_t> tgt_segment_pos;
  std::vector<int32_t> tgt_indices_in_input;
};

// Uniform integer in [0, bound) from 32-bit draws of `rng` by Lemire's
// multiply-and-reject method, which is what libstdc++'s
// uniform_int_distribution does for a 32-bit engine; spelled out so that
// results do not depend on the standard library. `bound` must be in
// [1, 2^32].
uint64_t UniformBelow(std::mt19937* rng, uint64_t bound);

// Packs item i (lengths src_lens[i], tgt_lens[i]) into rows of
// `packed_src_seq_len` source and `packed_tgt_seq_len` target positions.
//
// Items with a length < 1 and items that fit no row are dropped. With
// `packed_batch_size` > 0 the first that-many items go one per row, and when
// more rows were used, `packed_batch_size` of them are kept by reservoir
// sampling with `rng`; the result then always has `packed_batch_size` rows.
// With 0 the result has as many rows as were used.
//
// Throws std::invalid_argument for negative sizes or seq lens < 1.
PackedSequences PackSequences(const int64_t* src_lens, const int64_t* tgt_lens,
                              int64_t n, int64_t packed_batch_size,
                              int64_t packed_src_seq_len,
                              int64_t packed_tgt_seq_len, std::mt19937* rng);

// For rank >= 2 inputs of [n, length, ...]: the flat position
// (input_row * length + t) that output position [m, p] copies, or -1 for
// padding. Each maximal run of equal positive segment ids in a row of
// `segment_ids` takes input row indices_in_input[m, start of run], from its
// position 0 on.
//
// Throws std::invalid_argument ("out of bound...") when an index is outside [0, n)
// or a run is longer than `length`.
std::vector<int64_t> ApplyPackingGather(const int64_t* segment_ids,
                                        const int64_t* indices_in_input,
                                        int64_t rows, int64_t cols, int64_t n,
                                        int64_t length);

// For rank-1 inputs of [n]: the input indices each output row combines, as
// CSR (`offsets` has rows + 1 entries). A row takes indices_in_input at the
// positions whose segment id is non-zero, skipping an index equal to the one
// taken just before it.
//
// Throws std::invalid_argument ("out of bound...") when an index is outside [0, n).
void ApplyPackingRows(const int64_t* segment_ids,
                      const int64_t* indices_in_input, int64_t rows,
                      int64_t cols, int64_t n, std::vector<int64_t>* offsets,
                      std::vector<int64_t>* indices);

}  // namespace lingvo::ops::packing

#endif  // LINGVO_OPS_PACKING_PACK_OPS_H_
