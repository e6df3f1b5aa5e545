// The compiled module lingvo.ops._ops: each area registers its functions.
#include <pybind11/pybind11.h>

#include "bindings/bindings.h"

PYBIND11_MODULE(_ops, m) {
  m.doc() =
      "Compiled kernels of lingvo.ops. Import the public names from "
      "lingvo.ops rather than from this module.";
  lingvo::ops::bindings::RegisterText(m);
  lingvo::ops::bindings::RegisterBeamSearch(m);
  lingvo::ops::bindings::RegisterInput(m);
  lingvo::ops::bindings::RegisterPacking(m);
  lingvo::ops::bindings::RegisterMetrics(m);
  lingvo::ops::bindings::RegisterVocab(m);
}
