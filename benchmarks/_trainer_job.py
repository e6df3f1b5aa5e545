"""The trainer command line and environment that the end-to-end benchmark workers launch.

Both implementations run as users run them, `python -m lingvo.trainer ...` in a fresh process;
Lingvo's wheel ships no task params, so its side finds ours-equivalent params modules through
PYTHONPATH.
"""

from __future__ import annotations

import os
import pathlib
import sys


def TrainerCommand(model: str, logdir: str, job: str, override: str) -> list[str]:
    """`python -m lingvo.trainer` for `job` on CPU in sync mode, with one params override."""
    return [
        sys.executable,
        "-m",
        "lingvo.trainer",
        "--run_locally=cpu",
        "--mode=sync",
        f"--job={job}",
        f"--model={model}",
        f"--logdir={logdir}",
        f"--model_params_override={override}",
    ]


def TrainerEnv(impl: str, lingvo_params: pathlib.Path, **extra: str) -> dict[str, str]:
    """The job's environment: unbuffered logs, `extra` variables, and for Lingvo its params."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="1", **extra)
    if impl == "lingvo":
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(lingvo_params), os.environ.get("PYTHONPATH", "")])
        )
    return env
