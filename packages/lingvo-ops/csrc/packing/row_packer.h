// Greedy packing of multi-column items (source and target lengths) into rows.
//
// Plain C++17: no Python, no pybind11 and no TensorFlow.
#ifndef LINGVO_OPS_PACKING_ROW_PACKER_H_
#define LINGVO_OPS_PACKING_ROW_PACKER_H_

#include <cstdint>
#include <vector>

namespace lingvo::ops::packing {

// Places items of `columns` lengths into `rows` rows, first fit.
//
// Every row has a write position per column and column `c` holds at most
// `times[c]` positions. An item fits a row when, in every column, its length
// fits between the row's write position and the capacity.
class RowPacker {
 public:
  // Where an item went.
  struct Placement {
    int64_t row = -1;
    std::vector<int64_t> starts;  // The item's first position per column.
    int64_t seq = 0;              // 1-based order of the item within its row.
  };

  // Args:
  //   rows: number of rows (>= 0).
  //   times: capacity of each column (one entry per column).
  //   align: write positions are rounded up to a multiple of this after each
  //     item when > 1.
  //   pack: whether a row takes several items; when false each item fills its
  //     row.
  //   spread_first_n: the first this-many placed items go to rows 0, 1, ...
  //     one each (clamped to `rows`), so that every output row starts with
  //     one item before any row gets a second.
  //   use_last_fit: whether the search starts at the row that took the last
  //     item (wrapping around) rather than at row 0.
  RowPacker(int64_t rows, std::vector<int64_t> times, int64_t align, bool pack,
            int64_t spread_first_n, bool use_last_fit);

  // Places an item of `lens` (one per column). Returns false, leaving the
  // state unchanged, when no row has room.
  bool Add(const std::vector<int64_t>& lens, Placement* placement);

  // Empties every row.
  void Reset();

  int64_t rows() const { return rows_; }
  int64_t columns() const { return static_cast<int64_t>(times_.size()); }

 private:
  bool Fits(int64_t row, const std::vector<int64_t>& lens) const;

  int64_t rows_;
  std::vector<int64_t> times_;
  int64_t align_;
  bool pack_;
  int64_t spread_first_n_;
  bool use_last_fit_;
  std::vector<int64_t> wpos_;     // [rows, columns] write positions.
  std::vector<int64_t> row_seq_;  // Items placed per row.
  int64_t added_ = 0;             // Items placed so far.
  int64_t last_row_ = 0;          // The row of the last placed item.
};

}  // namespace lingvo::ops::packing

#endif  // LINGVO_OPS_PACKING_ROW_PACKER_H_
