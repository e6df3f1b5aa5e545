// PackSequences and ApplyPacking; see pack_ops.h.
#include "packing/pack_ops.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "packing/row_packer.h"

namespace lingvo::ops::packing {

uint64_t UniformBelow(std::mt19937* rng, uint64_t bound) {
  // Multiply a 32-bit draw by the bound and keep the high word; the low word
  // tells when the draw fell in the slightly over-represented tail, which is
  // rejected so every value is equally likely.
  uint64_t product = static_cast<uint64_t>((*rng)()) * bound;
  uint32_t low = static_cast<uint32_t>(product);
  if (low < bound) {
    const uint32_t threshold =
        static_cast<uint32_t>((uint64_t{1} << 32) - bound) %
        static_cast<uint32_t>(bound);
    while (low < threshold) {
      product = static_cast<uint64_t>((*rng)()) * bound;
      low = static_cast<uint32_t>(product);
    }
  }
  return product >> 32;
}

PackedSequences PackSequences(const int64_t* src_lens, const int64_t* tgt_lens,
                              int64_t n, int64_t packed_batch_size,
                              int64_t packed_src_seq_len,
                              int64_t packed_tgt_seq_len, std::mt19937* rng) {
  if (packed_batch_size < 0) {
    throw std::invalid_argument("packed_batch_size must be >= 0, got " +
                                std::to_string(packed_batch_size));
  }
  if (packed_src_seq_len < 1 || packed_tgt_seq_len < 1) {
    throw std::invalid_argument(
        "packed_src_seq_len and packed_tgt_seq_len must be >= 1, got " +
        std::to_string(packed_src_seq_len) + " and " +
        std::to_string(packed_tgt_seq_len));
  }
  // At most one row per item is ever needed.
  RowPacker packer(n, {packed_src_seq_len, packed_tgt_seq_len}, /*align=*/1,
                   /*pack=*/true, packed_batch_size, /*use_last_fit=*/false);
  struct Placed {
    int64_t index;
    RowPacker::Placement where;
  };
  std::vector<Placed> placed;
  int64_t rows_used = 0;
  RowPacker::Placement where;
  for (int64_t i = 0; i < n; ++i) {
    if (src_lens[i] < 1 || tgt_lens[i] < 1) continue;
    if (!packer.Add({src_lens[i], tgt_lens[i]}, &where)) continue;
    rows_used = std::max(rows_used, where.row + 1);
    placed.push_back({i, where});
  }

  // slot_of_row[r]: the output row of packed row r, -1 when it is dropped.
  std::vector<int64_t> slot_of_row(static_cast<size_t>(rows_used));
  for (int64_t r = 0; r < rows_used; ++r) slot_of_row[r] = r;
  int64_t out_rows = rows_used;
  if (packed_batch_size > 0) {
    out_rows = packed_batch_size;
    if (rows_used > packed_batch_size) {
      // Reservoir sampling over rows, so that no row (hence no part of the
      // input order) is systematically the one dropped.
      std::vector<int64_t> slots(static_cast<size_t>(packed_batch_size));
      for (int64_t s = 0; s < packed_batch_size; ++s) slots[s] = s;
      for (int64_t r = packed_batch_size; r < rows_used; ++r) {
        const auto j =
            static_cast<int64_t>(UniformBelow(rng, static_cast<uint64_t>(r + 1)));
        if (j < packed_batch_size) slots[j] = r;
      }
      for (int64_t r = 0; r < rows_used; ++r) slot_of_row[r] = -1;
      for (int64_t s = 0; s < packed_batch_size; ++s) slot_of_row[slots[s]] = s;
    }
  }

  PackedSequences out;
  out.rows = out_rows;
  out.src_len = packed_src_seq_len;
  out.tgt_len = packed_tgt_seq_len;
  const size_t src_size = static_cast<size_t>(out_rows * packed_src_seq_len);
  const size_t tgt_size = static_cast<size_t>(out_rows * packed_tgt_seq_len);
  out.src_segment_ids.assign(src_size, 0);
  out.src_segment_pos.assign(src_size, 0);
  out.src_indices_in_input.assign(src_size, 0);
  out.tgt_segment_ids.assign(tgt_size, 0);
  out.tgt_segment_pos.assign(tgt_size, 0);
  out.tgt_indices_in_input.assign(tgt_size, 0);
  for (const Placed& p : placed) {
    const int64_t slot = slot_of_row[p.where.row];
    if (slot < 0) continue;
    const auto fill = [&](int64_t len, int64_t width, int64_t start,
                          std::vector<int32_t>* ids, std::vector<int32_t>* pos,
                          std::vector<int32_t>* idx) {
      const int64_t base = slot * width + start;
      for (int64_t t = 0; t < len; ++t) {
        (*ids)[base + t] = static_cast<int32_t>(p.where.seq);
        (*pos)[base + t] = static_cast<int32_t>(t);
        (*idx)[base + t] = static_cast<int32_t>(p.index);
      }
    };
    fill(src_lens[p.index], packed_src_seq_len, p.where.starts[0],
         &out.src_segment_ids, &out.src_segment_pos, &out.src_indices_in_input);
    fill(tgt_lens[p.index], packed_tgt_seq_len, p.where.starts[1],
         &out.tgt_segment_ids, &out.tgt_segment_pos, &out.tgt_indices_in_input);
  }
  return out;
}

namespace {

[[noreturn]] void IndexOutOfBound(int64_t row, int64_t col, int64_t index,
                                  int64_t n) {
  throw std::invalid_argument("out of bound: indices_in_input[" +
                          std::to_string(row) + ", " + std::to_string(col) +
                          "] = " + std::to_string(index) +
                          " is outside [0, " + std::to_string(n) + ")");
}

}  // namespace

std::vector<int64_t> ApplyPackingGather(const int64_t* segment_ids,
                                        const int64_t* indices_in_input,
                                        int64_t rows, int64_t cols, int64_t n,
                                        int64_t length) {
  std::vector<int64_t> gather(static_cast<size_t>(rows * cols), -1);
  for (int64_t m = 0; m < rows; ++m) {
    const int64_t* seg = segment_ids + m * cols;
    const int64_t* idx = indices_in_input + m * cols;
    int64_t start = 0;
    while (start < cols) {
      int64_t end = start + 1;
      while (end < cols && seg[end] == seg[start]) ++end;
      if (seg[start] > 0) {
        const int64_t index = idx[start];
        if (index < 0 || index >= n) IndexOutOfBound(m, start, index, n);
        if (end - start > length) {
          throw std::invalid_argument(
              "out of bound: segment " + std::to_string(seg[start]) +
              " of row " + std::to_string(m) + " spans " +
              std::to_string(end - start) +
              " positions but the input rows have length " +
              std::to_string(length));
        }
        for (int64_t t = start; t < end; ++t) {
          gather[m * cols + t] = index * length + (t - start);
        }
      }
      start = end;
    }
  }
  return gather;
}

void ApplyPackingRows(const int64_t* segment_ids,
                      const int64_t* indices_in_input, int64_t rows,
                      int64_t cols, int64_t n, std::vector<int64_t>* offsets,
                      std::vector<int64_t>* indices) {
  offsets->assign(1, 0);
  indices->clear();
  for (int64_t m = 0; m < rows; ++m) {
    int64_t previous = -1;
    for (int64_t c = 0; c < cols; ++c) {
      if (segment_ids[m * cols + c] == 0) continue;
      const int64_t index = indices_in_input[m * cols + c];
      if (index < 0 || index >= n) IndexOutOfBound(m, c, index, n);
      // Consecutive positions of one item repeat its index; take it once.
      if (index == previous) continue;
      indices->push_back(index);
      previous = index;
    }
    offsets->push_back(static_cast<int64_t>(indices->size()));
  }
}

}  // namespace lingvo::ops::packing
