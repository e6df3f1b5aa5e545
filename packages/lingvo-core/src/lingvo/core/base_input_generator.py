"""The params of Lingvo's input generators; the generators themselves arrive in part 2."""

from __future__ import annotations

from lingvo.core import base_layer, hyperparams

__all__ = [
    "NOT_YET_AVAILABLE",
    "BaseInputGenerator",
    "BaseInputGeneratorFromFiles",
    "BaseSequenceInputGenerator",
]

NOT_YET_AVAILABLE = (
    "Input generators arrive in lingvo-core part 2 (record yielder, processors and the "
    "bucketing batcher on lingvo-ops); only their Params exist so far. Feed batches "
    "(NestedMaps) to the task yourself, e.g. task.FPropTower(task.theta, batch)."
)


class BaseInputGenerator(base_layer.BaseLayer):
    """The base of every input generator: produces batches (`NestedMap`s) for a task.

    This release defines the standard params that tasks, the registry and the trainer read
    (`batch_size`, `num_samples`, `resettable`, ...); building one raises
    `NotImplementedError` until the generators land.
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the standard input params."""
        p = super().Params()
        p.name = "input"
        p.Define("batch_size", 0, "The batch size of one split (per replica).")
        p.Define(
            "num_samples",
            0,
            "The number of examples in the dataset, if known; 0 means unknown.",
        )
        p.Define(
            "resettable",
            False,
            "Whether the input can be reset to its beginning, for whole-dataset evaluation.",
        )
        p.Define(
            "eval_samples_per_summary",
            None,
            "If set, overrides the task's eval.samples_per_summary for this dataset.",
        )
        p.Define(
            "decoder_samples_per_summary",
            None,
            "If set, overrides the task's eval.decoder_samples_per_summary for this dataset.",
        )
        p.Define(
            "tpu_infeed_parallelism",
            1,
            "The number of parallel infeed threads on TPU; kept for params compatibility.",
        )
        p.Define(
            "input_stats_summary_interval_steps",
            10,
            "The number of steps between summaries of input statistics.",
        )
        p.Define(
            "cpu_passthrough_keys",
            [],
            "The batch keys that stay on the host instead of going to the accelerator.",
        )
        p.Define(
            "remote",
            hyperparams.Params(),
            "Params of a remote input service; kept for params compatibility, unused.",
        )
        p.remote.Define(
            "max_inflights_per_target", 32, "The most in-flight requests per remote target."
        )
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        raise NotImplementedError(f"{type(self).__name__} ({params.name!r}): {NOT_YET_AVAILABLE}")


class BaseInputGeneratorFromFiles(BaseInputGenerator):
    """Input generators reading records from files matched by `file_pattern`."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the input params plus the file reading options."""
        p = super().Params()
        p.Define(
            "file_pattern",
            "",
            "The files to read, '<type>:<glob>' with type tfrecord or text; comma-separated "
            "patterns are mixed by input_source_weights.",
        )
        p.Define(
            "input_source_weights",
            [],
            "The mixing weights of the comma-separated file patterns; empty reads one source.",
        )
        p.Define(
            "file_random_seed",
            301,
            "The seed of the record shuffling; 0 makes it nondeterministic.",
        )
        p.Define("file_buffer_size", 10000, "The number of records in the shuffle buffer.")
        p.Define(
            "file_buffer_size_in_seconds",
            0,
            "Declared by Lingvo but never read; kept for params compatibility.",
        )
        p.Define("file_parallelism", 16, "The number of files read in parallel.")
        p.Define(
            "flush_every_n",
            0,
            "If > 0, every this many records the partially filled buckets are emitted.",
        )
        p.Define("num_batcher_threads", 1, "The number of threads that batch records.")
        p.Define(
            "require_sequential_order",
            False,
            "Whether records are read strictly in file order, once (for evaluation).",
        )
        p.Define(
            "repeat_count",
            -1,
            "How many times the files are read; -1 repeats forever.",
        )
        p.Define(
            "use_per_host_infeed",
            False,
            "Whether each host runs its own input pipeline; kept for params compatibility.",
        )
        return p


class BaseSequenceInputGenerator(BaseInputGeneratorFromFiles):
    """Input generators of variable-length sequences, batched by length buckets."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the file input params plus the bucketing and tokenizer options."""
        p = super().Params()
        p.Define(
            "bucket_upper_bound",
            [2560],
            "The ascending upper bounds of the bucket keys; longer records are dropped.",
        )
        p.Define(
            "bucket_batch_limit",
            [8],
            "The batch size of each bucket, one per bucket_upper_bound entry.",
        )
        p.Define(
            "bucket_adjust_every_n",
            0,
            "If > 0, every this many records the bucket boundaries are re-balanced.",
        )
        p.Define("source_max_length", None, "The longest source sequence kept, if set.")
        p.Define("target_max_length", 300, "The longest target sequence, in tokens.")
        p.Define(
            "pad_to_max_seq_length",
            False,
            "Whether sequences are padded to the max lengths instead of the batch's longest.",
        )
        p.Define("tokenizer", None, "The tokenizer params; None leaves ids as read.")
        p.Define(
            "tokenizer_dict",
            {},
            "Tokenizer params by name, for inputs that tokenize several fields differently.",
        )
        return p
