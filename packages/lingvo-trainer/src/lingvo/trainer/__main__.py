"""`python -m lingvo.trainer` and the `lingvo-trainer` console script."""

from __future__ import annotations

import sys

from absl import flags as absl_flags
from absl import logging

from lingvo.trainer import flags as trainer_flags

__all__ = ["Run", "main"]

# Errors that are the user's to fix: one line and exit status 1, no traceback.
_USER_ERRORS = (LookupError, ValueError, AttributeError, OSError, TypeError, NotImplementedError)


def _Error(message: str) -> int:
    print(f"lingvo-trainer: error: {message}", file=sys.stderr)
    return 1


def Run(argv: list[str]) -> int:
    """Parses `argv` (program name first) and runs the trainer; returns the exit status."""
    FLAGS = trainer_flags.FLAGS
    FLAGS.unparse_flags()
    try:
        FLAGS(argv)
    except absl_flags.Error as e:
        return _Error(str(e))
    if not FLAGS.model:
        return _Error("--model is required, e.g. --model=image.mnist.LeNet5")
    logging.use_absl_handler()
    logging.set_verbosity(logging.INFO)
    import lingvo.core  # noqa: F401  (registers the core factories with lingvo-params)
    from lingvo.params.base_model_params import DatasetError
    from lingvo.trainer import runner_manager

    manager = runner_manager.RunnerManager(FLAGS)
    try:
        manager.Start()
    except RuntimeError as e:
        return _Error(str(e))
    except (*_USER_ERRORS, DatasetError) as e:
        text = str(e).strip().strip('"') or type(e).__name__
        return _Error(f"{type(e).__name__}: {text}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """The console entry point."""
    return Run(list(sys.argv if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
