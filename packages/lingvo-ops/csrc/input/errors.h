// Error types of the input kernels; the bindings map each to a Python exception.
#ifndef LINGVO_OPS_INPUT_ERRORS_H_
#define LINGVO_OPS_INPUT_ERRORS_H_

#include <stdexcept>
#include <string>

namespace lingvo::ops::input {

// A bad argument or pattern (Lingvo's InvalidArgument); Python ValueError.
class InvalidArgumentError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// A file that does not exist; Python FileNotFoundError.
class NotFoundError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An I/O failure other than a missing file; Python OSError.
class IoError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Corrupt or truncated data (Lingvo's DataLoss); Python lingvo.ops.DataLossError,
// an OSError. The message names the file and the byte offset.
class DataLossError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Use of a yielder after Close(); Python ValueError.
class ClosedError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

}  // namespace lingvo::ops::input

#endif  // LINGVO_OPS_INPUT_ERRORS_H_
