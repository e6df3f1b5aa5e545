// The best and the last step of a metric's history, for early stopping.
//
// Plain C++17: no Python, no pybind11 and no TensorFlow.
#ifndef LINGVO_OPS_METRICS_BEST_STEP_H_
#define LINGVO_OPS_METRICS_BEST_STEP_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace lingvo::ops::metrics {

struct BestStepResult {
  int64_t best_step = 0;
  int64_t last_step = 0;
  bool found = false;  // Whether any history file existed.
};

// Reads (step, value) pairs of `metric` from TF event files: each record an
// Event proto whose summary may hold a simple_value under tag `metric`.
// The first value seen for a step is kept. Throws input::DataLossError for a
// corrupt record and std::invalid_argument for a malformed proto.
void ReadEventHistory(const std::string& path, std::string_view metric,
                      std::map<int64_t, float>* history);

// Reads a text history of "<step> <value>" lines (one space; empty lines are
// skipped). The first value seen for a step is kept. Returns false when the
// file does not exist; throws std::invalid_argument naming the file and line
// for any other line.
bool ReadTextHistory(const std::string& path, std::map<int64_t, float>* history);

// Lingvo's BestStep: `hist_file` is a glob of TF event files when it contains
// "events.out.tfevents" (reading tag `metric`), else a text history.
// Values are negated unless `minimize`. Steps are visited in increasing
// order; the best moves to a step when its value + `tol` is below the best
// value so far (step 0 never counts as the best once a later step exists).
// Without history the result is {0, 0, found = false}.
//
// Throws std::invalid_argument when tol < 0 or a file is malformed, and the
// input errors of the record reader for unreadable event files.
BestStepResult BestStep(const std::string& hist_file, float tol, bool minimize,
                        const std::string& metric);

}  // namespace lingvo::ops::metrics

#endif  // LINGVO_OPS_METRICS_BEST_STEP_H_
