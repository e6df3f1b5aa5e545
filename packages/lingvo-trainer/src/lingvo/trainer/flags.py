"""The trainer's command-line flags, with Lingvo's names and defaults."""

from __future__ import annotations

from absl import flags

__all__ = ["FLAGS", "JOBS_HELP", "MODES"]

FLAGS = flags.FLAGS

MODES = (
    "sync",
    "async",
    "inspect_params",
    "inspect_model",
    "inspect_evaler",
    "inspect_decoder",
    "write_inference_graph",
)

JOBS_HELP = (
    "controller, trainer, trainer_client, evaler_<dataset>, decoder_<dataset>, "
    "evaler_once_<dataset>@<step>"
)

# Model selection.
flags.DEFINE_string(
    "model",
    None,
    "The registry key of the model, e.g. image.mnist.LeNet5 (short form mnist.LeNet5).",
)
flags.DEFINE_string(
    "model_task_name",
    "",
    "For a multi-task model, the task to train, evaluate or decode; empty samples a task.",
)
flags.DEFINE_string(
    "model_params_override",
    "",
    "Params overrides in Lingvo's params.txt format, 'name : value' items separated by "
    "newlines or ';', e.g. 'train.max_steps : 300; task.train.learning_rate : 1e-3'.",
)
flags.DEFINE_string(
    "model_params_file_override",
    "",
    "A file of params overrides in params.txt format; exclusive with model_params_override.",
)

# Job and role.
flags.DEFINE_string(
    "job",
    "",
    f"A comma-separated list of jobs to run in this process: {JOBS_HELP}.",
)
flags.DEFINE_integer("task", 0, "The index of this process's task within its job.")
flags.DEFINE_string(
    "mode",
    "async",
    f"The training mode, or a utility mode that prints and exits; one of {', '.join(MODES)}.",
)
flags.DEFINE_string("logdir", "", "The log directory that every job of a run shares.")
flags.DEFINE_string(
    "run_locally",
    "",
    "Run every job in this process on 'cpu' or 'gpu', ignoring the cluster flags.",
)

# Cluster shape.
flags.DEFINE_string(
    "cluster_spec",
    "",
    "The cluster, 'job=host:port,host:port@job2=host:port', e.g. "
    "'worker=localhost:2222,localhost:2223'.",
)
flags.DEFINE_integer(
    "cpu_replicas",
    1,
    "With --run_locally=cpu --mode=sync, train data-parallel on this many logical CPU "
    "devices (MirroredStrategy); input.batch_size is per replica.",
)
flags.DEFINE_integer("worker_replicas", 1, "The number of worker tasks.")
flags.DEFINE_integer("worker_gpus", 0, "The number of GPUs of each worker task.")
flags.DEFINE_integer("worker_split_size", 1, "The number of devices of one model split.")
flags.DEFINE_integer("ps_replicas", 1, "The number of parameter-server tasks.")
flags.DEFINE_integer("ps_gpus", 0, "The number of GPUs of each parameter-server task.")

# Checkpoint and loop overrides.
flags.DEFINE_integer(
    "saver_max_to_keep",
    None,
    "If set, overrides train.save_max_to_keep, the number of recent checkpoints kept.",
)
flags.DEFINE_float(
    "saver_keep_checkpoint_every_n_hours",
    None,
    "If set, overrides train.save_keep_checkpoint_every_n_hours.",
)
flags.DEFINE_integer(
    "enqueue_max_steps",
    None,
    "If set, overrides train.enqueue_max_steps, the most input steps (for tests).",
)

# Inspection.
flags.DEFINE_multi_string(
    "inspect_model_part_regex",
    None,
    "With --mode=inspect_model, 'name:regex' items counting the parameters of model parts.",
)
flags.DEFINE_integer(
    "inspect_model_topn",
    0,
    "With --mode=inspect_model, also list this many of the largest variables.",
)
flags.DEFINE_list(
    "inspect_params_dataset_name",
    None,
    "With --mode=inspect_params, the datasets to write params for; all when unset.",
)

# Inference export.
flags.DEFINE_string(
    "inference_dataset_name",
    "Test",
    "With --mode=write_inference_graph, the dataset whose params build the exported model.",
)
flags.DEFINE_string(
    "inference_graph_filename",
    "",
    "With --mode=write_inference_graph, the SavedModel folder to write instead of "
    "<logdir>/inference_graphs/inference.",
)
flags.DEFINE_string(
    "inference_checkpoint",
    "",
    "With --mode=write_inference_graph, the checkpoint to export instead of the newest one.",
)
