"""Turns the command line into runners: utility modes, job lists, one thread per job."""

from __future__ import annotations

import dataclasses
import os
import re
import sys
import threading
from typing import Any, TextIO

from absl import logging

from lingvo import model_registry
from lingvo.params import datasets
from lingvo.trainer import cluster, distributed, runners
from lingvo.trainer import logdir as logdir_lib

__all__ = ["Job", "ParseJobs", "RunnerManager"]

_EVAL_ONCE_RE = re.compile(r"^evaler_once_([^_@]+)@(\d+)$")


@dataclasses.dataclass(frozen=True)
class Job:
    """One entry of `--job`: its kind, dataset and (for `evaler_once_`) checkpoint step."""

    kind: str  # controller, trainer(_client), evaler, decoder, evaler_once, ps, worker
    dataset: str = ""
    step: int | None = None


def ParseJobs(job_flag: str) -> list[Job]:
    """Parses `--job`, e.g. `controller,trainer_client,evaler_dev,decoder_test`.

    Raises:
      ValueError: For a job Lingvo does not have, naming it and the known ones.
    """
    out = []
    for name in filter(None, (j.strip() for j in job_flag.split(","))):
        m = _EVAL_ONCE_RE.match(name)
        if m:
            out.append(Job("evaler_once", m.group(1), int(m.group(2))))
        elif name in ("controller", "trainer", "trainer_client", "ps", "worker"):
            out.append(Job(name))
        elif name.startswith(("evaler_", "decoder_")) and not name.startswith("evaler_once"):
            kind, _, dataset = name.partition("_")
            if not dataset:
                raise ValueError(f"job {name!r} names no dataset")
            out.append(Job(kind, dataset))
        else:
            raise ValueError(
                f"job {name!r} is not supported; jobs are controller, trainer, trainer_client, "
                "evaler_<dataset>, decoder_<dataset>, evaler_once_<dataset>@<step>, ps and worker"
            )
    return out


class RunnerManager:
    """Runs what the flags ask for: a utility mode, or the jobs of `--job`.

    Args:
      flag_values: The parsed absl flags (`lingvo.trainer.flags.FLAGS`).
      out: Where utility modes print.
    """

    def __init__(self, flag_values: Any, out: TextIO | None = None) -> None:
        self.f = flag_values
        self.out = out or sys.stdout
        self.model = flag_values.model

    # ------------------------------------------------------------------ params

    def GetParams(self, dataset: str) -> Any:
        """The model params of a dataset with the override flags applied."""
        cfg = model_registry.GetParams(
            self.model,
            dataset,
            model_params_override=self.f.model_params_override or None,
            model_params_file_override=self.f.model_params_file_override or None,
        )
        if self.f.saver_max_to_keep is not None:
            cfg.train.save_max_to_keep = self.f.saver_max_to_keep
        if self.f.saver_keep_checkpoint_every_n_hours is not None:
            cfg.train.save_keep_checkpoint_every_n_hours = (
                self.f.saver_keep_checkpoint_every_n_hours
            )
        if self.f.enqueue_max_steps is not None:
            cfg.train.enqueue_max_steps = self.f.enqueue_max_steps
        return cfg

    def Datasets(self) -> list[str]:
        """The model's dataset names (`Train`, `Dev`, `Test`, ...)."""
        return datasets.GetDatasets(model_registry.GetClass(self.model))

    # ------------------------------------------------------------------ utility modes

    def InspectParams(self) -> None:
        """Writes `<logdir>/<dataset lower>-params.txt` for each (selected) dataset."""
        logdir = logdir_lib.Prepare(self.f.logdir)
        names = self.Datasets()
        wanted = self.f.inspect_params_dataset_name
        if wanted:
            lower = {n.lower(): n for n in names}
            missing = [w for w in wanted if w.lower() not in lower]
            if missing:
                raise ValueError(f"datasets {missing} are not among the model's {names}")
            names = [lower[w.lower()] for w in wanted]
        for name in names:
            path = os.path.join(logdir, f"{name.lower()}-params.txt")
            logdir_lib.WriteText(path, self.GetParams(name).ToText())
            print(path, file=self.out)

    def InspectModel(self) -> None:
        """Prints the model analysis of the Train params."""
        cfg = self.GetParams("Train")
        model = cfg.Instantiate()
        parts = {}
        for item in self.f.inspect_model_part_regex or []:
            name, sep, regex = item.partition(":")
            if not sep:
                raise ValueError(f"--inspect_model_part_regex {item!r} is not 'name:regex'")
            parts[name] = regex
        text, _ = model.ModelAnalysis(
            topn=self.f.inspect_model_topn, part_regexes=parts or None, log=False
        )
        print(text, end="", file=self.out)

    def InspectEvaler(self) -> None:
        """Prints the datasets an evaler can use, lower case, comma-joined."""
        print(",".join(n.lower() for n in self.Datasets()), file=self.out)

    def InspectDecoder(self) -> None:
        """Like `InspectEvaler`, if the task has decoder metrics; else an empty line."""
        cfg = self.GetParams("Train")
        task_p = cfg.task if "task" in cfg else None
        has_decoder = False
        if task_p is not None:
            from lingvo.core import base_model

            fn = getattr(task_p.cls, "CreateDecoderMetrics", None)
            has_decoder = fn is not None and fn is not base_model.BaseTask.CreateDecoderMetrics
        print(",".join(n.lower() for n in self.Datasets()) if has_decoder else "", file=self.out)

    def WriteInferenceGraph(self) -> None:
        """Exports the inference SavedModel(s) under `<logdir>/inference_graphs/`."""
        from lingvo.trainer import inference_graph

        logdir = logdir_lib.Prepare(self.f.logdir)
        written = inference_graph.WriteInferenceGraphs(
            self.GetParams(self.f.inference_dataset_name),
            logdir,
            task_name=self.f.model_task_name,
            checkpoint=self.f.inference_checkpoint,
            filename=self.f.inference_graph_filename,
        )
        for path in written:
            print(path, file=self.out)

    # ------------------------------------------------------------------ jobs

    def _DefaultJobs(self) -> str:
        mode = self.f.mode
        if self.f.job:
            return self.f.job
        if self.f.run_locally:
            return "controller,trainer" if mode == "async" else "controller,trainer_client"
        raise ValueError("--job is required unless --run_locally is set")

    def Start(self) -> None:
        """Runs the mode or the jobs; returns when every job is done.

        Raises:
          ValueError, LookupError, OSError: For bad flags, models, datasets or logdirs.
          RuntimeError: If a job failed (its traceback is logged).
        """
        mode = self.f.mode
        utility = {
            "inspect_params": self.InspectParams,
            "inspect_model": self.InspectModel,
            "inspect_evaler": self.InspectEvaler,
            "inspect_decoder": self.InspectDecoder,
            "write_inference_graph": self.WriteInferenceGraph,
        }
        if mode in utility:
            utility[mode]()
            return
        if mode not in ("sync", "async"):
            raise ValueError(f"--mode={mode} is not one of sync, async, {', '.join(utility)}")
        jobs = ParseJobs(self._DefaultJobs())
        passive = [j.kind for j in jobs if j.kind in ("ps", "worker")]
        if passive:
            if len(jobs) > 1:
                raise ValueError(f"--job={passive[0]} is a server and must be the only job")
            cluster.ServeForever(self.f.cluster_spec, passive[0], self.f.task)
            return
        logdir = logdir_lib.Prepare(self.f.logdir)
        strategy = cluster.MakeStrategy(
            mode, self.f.run_locally, self.f.cluster_spec, self.f.task, self.f.cpu_replicas
        )
        built = self._BuildRunners(jobs, logdir, strategy)
        self._RunAll(built)

    def _BuildRunners(self, jobs: list[Job], logdir: str, strategy: Any) -> list[Any]:
        stop = threading.Event()
        # Params first, so that a bad dataset or override fails before anything runs.
        params = {}
        for job in jobs:
            dataset = (
                "Train" if job.kind in ("controller", "trainer", "trainer_client") else job.dataset
            )
            if dataset not in params:
                params[dataset] = self.GetParams(dataset)
        out = []
        trainer = None
        kinds = {j.kind for j in jobs}
        if not distributed.IsChief(strategy):
            # Only worker 0 plays Lingvo's controller: it writes control/ and checkpoints.
            jobs = [j for j in jobs if j.kind != "controller"]
            kinds.discard("controller")
        for job in jobs:
            if job.kind in ("trainer", "trainer_client") and trainer is None:
                trainer = runners.Trainer(
                    params["Train"],
                    logdir,
                    name=job.kind,
                    stop_event=stop,
                    write_control_summaries="controller" in kinds,
                    strategy=strategy,
                    task_name=self.f.model_task_name,
                )
        for job in jobs:
            task = self.f.model_task_name
            if job.kind == "controller":
                out.append(
                    runners.Controller(
                        params["Train"], logdir, stop, model=trainer.model if trainer else None
                    )
                )
            elif job.kind in ("trainer", "trainer_client"):
                if trainer is not None and trainer not in out:
                    out.append(trainer)
            elif job.kind == "evaler":
                out.append(runners.Evaler(params[job.dataset], logdir, job.dataset, stop, task))
            elif job.kind == "decoder":
                out.append(runners.Decoder(params[job.dataset], logdir, job.dataset, stop, task))
            elif job.kind == "evaler_once":
                path = logdir_lib.CheckpointPath(logdir, job.step)
                if not os.path.exists(path + ".index"):
                    raise FileNotFoundError(f"checkpoint {path} does not exist")
                out.append(
                    runners.Evaler(params[job.dataset], logdir, job.dataset, stop, task, path)
                )
        self._stop = stop
        return out

    def _RunAll(self, built: list[Any]) -> None:
        # The controller writes its files first: quick, and the trainer's model is built.
        controllers = [r for r in built if isinstance(r, runners.Controller)]
        for r in controllers:
            r.Start()
        rest = [r for r in built if r not in controllers]
        if len(rest) == 1:
            rest[0].Start()
            logging.info("All runners done.")
            return
        errors: list[BaseException] = []

        def Target(runner: Any) -> None:
            try:
                runner.Start()
            except BaseException as e:
                logging.exception("%s done (fatal error): %s", runner.name, e)
                errors.append(e)
                self._stop.set()

        threads = [
            threading.Thread(target=Target, args=(r,), name=r.name, daemon=True) for r in rest
        ]
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(1.0)
        if errors:
            raise RuntimeError(f"{len(errors)} job(s) failed; first: {errors[0]!r}") from errors[0]
        logging.info("All runners done.")
