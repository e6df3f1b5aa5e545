// PackSingleSequence; see pack_single_sequence.h.
#include "packing/pack_single_sequence.h"

#include <algorithm>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>

namespace lingvo::ops::packing {
namespace {

void CheckLengths(const int64_t* lengths, int64_t n,
                  int64_t max_packed_length) {
  if (max_packed_length < 0) {
    throw std::invalid_argument("max_packed_length must be >= 0, got " +
                                std::to_string(max_packed_length));
  }
  for (int64_t i = 0; i < n; ++i) {
    if (lengths[i] < 0) {
      throw std::invalid_argument("Input length at index " + std::to_string(i) +
                                  " is negative: " + std::to_string(lengths[i]));
    }
    if (lengths[i] > max_packed_length) {
      throw std::invalid_argument(
          "Input length at index " + std::to_string(i) +
          " is too long: " + std::to_string(lengths[i]) +
          " vs max_packed_length " + std::to_string(max_packed_length));
    }
  }
}

// Row of each item, filling rows in input order.
std::vector<int64_t> SequentialRows(const int64_t* lengths, int64_t n,
                                    int64_t width) {
  std::vector<int64_t> row_of(n);
  int64_t row = -1;
  int64_t used = width;  // No row is open yet.
  for (int64_t i = 0; i < n; ++i) {
    if (row < 0 || used + lengths[i] > width) {
      ++row;
      used = 0;
    }
    used += lengths[i];
    row_of[i] = row;
  }
  return row_of;
}

// Row of each item by best-fit decreasing.
std::vector<int64_t> BestFitDecreasingRows(const int64_t* lengths, int64_t n,
                                           int64_t width) {
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), int64_t{0});
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return lengths[a] > lengths[b];
  });
  // Open rows keyed by (room left, row id): lower_bound on (length, 0) finds
  // the tightest row that holds the item, the earliest one among equals.
  std::set<std::pair<int64_t, int64_t>> open_rows;
  std::vector<int64_t> row_of(n);
  int64_t rows = 0;
  for (const int64_t i : order) {
    auto it = open_rows.lower_bound({lengths[i], int64_t{0}});
    int64_t row;
    int64_t room;
    if (it == open_rows.end()) {
      row = rows++;
      room = width;
    } else {
      room = it->first;
      row = it->second;
      open_rows.erase(it);
    }
    open_rows.emplace(room - lengths[i], row);
    row_of[i] = row;
  }
  return row_of;
}

}  // namespace

PackedSingleSequence PackSingleSequence(const int64_t* lengths, int64_t n,
                                        int64_t max_packed_length,
                                        bool sequential) {
  CheckLengths(lengths, n, max_packed_length);
  const std::vector<int64_t> row_of =
      sequential ? SequentialRows(lengths, n, max_packed_length)
                 : BestFitDecreasingRows(lengths, n, max_packed_length);
  PackedSingleSequence out;
  out.width = max_packed_length;
  for (int64_t i = 0; i < n; ++i) out.rows = std::max(out.rows, row_of[i] + 1);
  out.segment_ids.assign(out.rows * out.width, 0);
  out.indices_in_input.assign(out.rows * out.width, -1);
  // Visiting items in input order lays each row out in increasing index.
  std::vector<int64_t> write_pos(out.rows, 0);
  std::vector<int32_t> items_in_row(out.rows, 0);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t row = row_of[i];
    const int32_t segment = ++items_in_row[row];
    const int64_t begin = row * out.width + write_pos[row];
    std::fill_n(out.segment_ids.begin() + begin, lengths[i], segment);
    std::fill_n(out.indices_in_input.begin() + begin, lengths[i],
                static_cast<int32_t>(i));
    write_pos[row] += lengths[i];
  }
  return out;
}

}  // namespace lingvo::ops::packing
