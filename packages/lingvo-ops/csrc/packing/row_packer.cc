// First-fit row packer; see row_packer.h.
#include "packing/row_packer.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

namespace lingvo::ops::packing {

RowPacker::RowPacker(int64_t rows, std::vector<int64_t> times, int64_t align,
                     bool pack, int64_t spread_first_n, bool use_last_fit)
    : rows_(rows),
      times_(std::move(times)),
      align_(align),
      pack_(pack),
      spread_first_n_(std::min(std::max<int64_t>(spread_first_n, 0), rows)),
      use_last_fit_(use_last_fit) {
  if (rows_ < 0) {
    throw std::invalid_argument("rows must be >= 0, got " +
                                std::to_string(rows_));
  }
  if (times_.empty()) {
    throw std::invalid_argument("times must name at least one column");
  }
  Reset();
}

void RowPacker::Reset() {
  wpos_.assign(static_cast<size_t>(rows_) * times_.size(), 0);
  row_seq_.assign(static_cast<size_t>(rows_), 0);
  added_ = 0;
  last_row_ = 0;
}

bool RowPacker::Fits(int64_t row, const std::vector<int64_t>& lens) const {
  const size_t cols = times_.size();
  const int64_t* pos = wpos_.data() + static_cast<size_t>(row) * cols;
  for (size_t c = 0; c < cols; ++c) {
    if (pos[c] + lens[c] > times_[c]) return false;
  }
  return true;
}

bool RowPacker::Add(const std::vector<int64_t>& lens, Placement* placement) {
  if (lens.size() != times_.size()) {
    throw std::invalid_argument("lens must have " +
                                std::to_string(times_.size()) +
                                " entries, got " + std::to_string(lens.size()));
  }
  int64_t row = -1;
  if (added_ < spread_first_n_) {
    // Spreading: only the next empty row is a candidate. A miss does not use
    // up the slot, so a later (shorter) item can still take it.
    if (Fits(added_, lens)) row = added_;
  } else {
    const int64_t first = use_last_fit_ ? last_row_ : 0;
    for (int64_t k = 0; k < rows_; ++k) {
      const int64_t r = (first + k) % rows_;
      if (Fits(r, lens)) {
        row = r;
        break;
      }
    }
  }
  if (row < 0) return false;

  const size_t cols = times_.size();
  int64_t* pos = wpos_.data() + static_cast<size_t>(row) * cols;
  placement->row = row;
  placement->starts.assign(pos, pos + cols);
  placement->seq = ++row_seq_[static_cast<size_t>(row)];
  for (size_t c = 0; c < cols; ++c) {
    pos[c] += lens[c];
    if (align_ > 1) pos[c] = (pos[c] + align_ - 1) / align_ * align_;
    if (!pack_) pos[c] = times_[c];
  }
  ++added_;
  last_row_ = row;
  return true;
}

}  // namespace lingvo::ops::packing
