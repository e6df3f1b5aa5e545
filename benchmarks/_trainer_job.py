"""The trainer command line and environment that the end-to-end benchmark workers launch.

Both implementations run as users run them, `python -m lingvo.trainer ...` in a fresh process;
Lingvo's wheel ships no task params, so its side finds ours-equivalent params modules through
PYTHONPATH.
"""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys
import time


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


def _CpuSeconds(pid: int) -> float:
    """User + system CPU seconds of a running process (all its threads), from /proc."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:  # already gone
        return float("nan")
    # After the command name: state is field 3, utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def RunJob(cmd: list[str], env: dict[str, str], log_path: str, pattern: re.Pattern) -> dict:
    """Runs `cmd` to its end, watching its output for `pattern`.

    Returns `hits` (seconds since the start, match) for each matching line, `hit_cpu_s` (the
    child's CPU seconds, all threads, when each arrived), `peak_rss` (bytes, the child's own),
    `wall` seconds and the whole `log`, which is also written to `log_path`.
    Raises `SystemExit` with the log's tail if the job fails.
    """
    start = time.perf_counter()
    hits: list[tuple[float, re.Match]] = []
    hit_cpu: list[float] = []
    lines = []
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    for line in proc.stdout:
        lines.append(line)
        m = pattern.search(line)
        if m:
            hits.append((time.perf_counter() - start, m))
            hit_cpu.append(_CpuSeconds(proc.pid))
    # wait4 gives this child's own resource usage; ru_maxrss is in KiB on Linux.
    _, status, usage = os.wait4(proc.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    text = "".join(lines)
    pathlib.Path(log_path).write_text(text)
    if code:
        raise SystemExit(f"{' '.join(cmd)} exited {code}:\n{text[-4000:]}")
    return {
        "hits": hits,
        "hit_cpu_s": hit_cpu,
        "peak_rss": usage.ru_maxrss * 1024,
        "wall": time.perf_counter() - start,
        "log": text,
    }
