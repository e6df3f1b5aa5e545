"""Lingvo's input generators: padded NestedMap batches from files, through tf.data."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import tensorflow as tf

from lingvo.core import base_layer, generic_input, hyperparams, tokenizers
from lingvo.core.nested_map import NestedMap

__all__ = [
    "ABSTRACT",
    "BaseInputGenerator",
    "BaseInputGeneratorFromFiles",
    "BaseSequenceInputGenerator",
]

ABSTRACT = (
    "is abstract: input generators (lingvo-core part 2) are subclasses that implement "
    "_BuildDataset() (a tf.data.Dataset of NestedMap batches) or, reading files, "
    "_ProcessRecord(record) returning (NestedMap example, bucket key)."
)


class BaseInputGenerator(base_layer.BaseLayer):
    """The base of every input generator: produces batches (`NestedMap`s) for a task.

    A subclass implements `_BuildDataset()`, a `tf.data.Dataset` of `NestedMap` batches
    (one pass over the data for evaluation, endless for training), and may override
    `_PreprocessInputBatch(batch)`. `dataset` is that pipeline with the preprocessing;
    iterating the generator makes one pass; `GetPreprocessedInputBatch()` returns the next
    batch of a running iterator and raises `tf.errors.OutOfRangeError` at the end of the data
    until `Reset()`.
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
        if not self._Implements():
            raise NotImplementedError(f"{type(self).__name__} ({params.name!r}) {ABSTRACT}")
        super().__init__(params)
        object.__setattr__(self, "_dataset", None)
        object.__setattr__(self, "_iterator", None)

    def _Implements(self) -> bool:
        """Whether this class provides batches (overrides a dataset or batch hook)."""
        return type(self)._BuildDataset is not BaseInputGenerator._BuildDataset or (
            type(self)._InputBatch is not BaseInputGenerator._InputBatch
        )

    def InfeedBatchSize(self) -> int:
        """The batch size of one input pipeline (`batch_size`)."""
        return int(self.params.batch_size)

    def GlobalBatchSize(self) -> int:
        """The batch size of one step over every replica; one pipeline here."""
        return self.InfeedBatchSize()

    def _BuildDataset(self) -> tf.data.Dataset:
        """Returns the `tf.data.Dataset` of raw (not yet preprocessed) `NestedMap` batches."""
        raise NotImplementedError(f"{type(self).__name__} {ABSTRACT}")

    def _PreprocessInputBatch(self, batch: NestedMap) -> NestedMap:
        """Transforms one batch in TensorFlow (runs inside tf.data); the identity here."""
        return batch

    @property
    def dataset(self) -> tf.data.Dataset:
        """The dataset of preprocessed `NestedMap` batches, built once."""
        if self.__dict__.get("_dataset") is None:  # also for subclasses that skip __init__
            ds = self._BuildDataset()
            if type(self)._PreprocessInputBatch is not BaseInputGenerator._PreprocessInputBatch:
                ds = ds.map(self._PreprocessInputBatch, num_parallel_calls=tf.data.AUTOTUNE)
            object.__setattr__(self, "_dataset", ds)
        return self._dataset

    def __iter__(self) -> Iterator[NestedMap]:
        """Yields the preprocessed batches of a new pass (endless when the data repeats)."""
        for batch in self.dataset:
            yield NestedMap(batch)

    def _InputBatch(self) -> NestedMap:
        """Returns the next batch of the running pass (Lingvo's `_InputBatch`)."""
        if self.__dict__.get("_iterator") is None:
            object.__setattr__(self, "_iterator", iter(self.dataset))
        try:
            return NestedMap(next(self._iterator))
        except StopIteration:
            self.LogInputStats()
            raise tf.errors.OutOfRangeError(
                None, None, f"{self.params.name}: end of the input; call Reset() for a new pass"
            ) from None

    def GetPreprocessedInputBatch(self) -> NestedMap:
        """Returns the next preprocessed batch, a `NestedMap` of tensors shaped [batch, ...].

        Raises:
          tf.errors.OutOfRangeError: The data has ended (evaluation); `Reset()` restarts it.
        """
        if type(self)._InputBatch is not BaseInputGenerator._InputBatch:
            return self._PreprocessInputBatch(self._InputBatch())
        return self._InputBatch()

    def Reset(self) -> None:
        """Makes the next `GetPreprocessedInputBatch()` start a new pass from the beginning."""
        object.__setattr__(self, "_iterator", None)

    def InputStats(self) -> dict[str, int]:
        """Counts of records the pipeline dropped so far (`dropped_negative`, ...); {} if none."""
        drops = self.__dict__.get("_drop_counter")
        return drops.Counts() if drops is not None else {}

    def LogInputStats(self) -> None:
        """Logs the drop counts when any record was dropped (called at the end of a pass)."""
        drops = self.__dict__.get("_drop_counter")
        if drops is not None:
            drops.Log()


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
        p.Define(
            "shard_index",
            None,
            "This worker's shard of the training records; None takes it from TF_CONFIG.",
        )
        p.Define(
            "num_shards",
            None,
            "The number of disjoint shards the training records are split into, one per "
            "worker; None takes the chief and worker count from TF_CONFIG.",
        )
        p.Define(
            "batcher",
            "tf",
            "The bucketing batcher: 'tf' (tf.data group_by_window) or 'ops' (the "
            "lingvo.ops BucketBatcher).",
        )
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        # Evaluation is fixed when the generator is built, as Lingvo fixed it per job.
        object.__setattr__(self, "_sequential", self._ReadsSequentially())

    def _Implements(self) -> bool:
        cls, base = type(self), BaseInputGeneratorFromFiles
        return (
            cls._ProcessRecord is not base._ProcessRecord
            or cls._DataSourceFromFilePattern is not base._DataSourceFromFilePattern
            or cls._BuildDataset is not base._BuildDataset
            or cls._InputBatch is not BaseInputGenerator._InputBatch
        )

    def _ReadsSequentially(self) -> bool:
        p = self.params
        return bool(p.require_sequential_order or p.resettable or self.do_eval)

    @property
    def sequential(self) -> bool:
        """Whether records are read once each, in file order (evaluation)."""
        return self._sequential

    def ShardInfo(self) -> tuple[int, int]:
        """Returns (shard_index, num_shards): explicit params, else TF_CONFIG's workers.

        Sequential (evaluation) input reads every record unless the shard params are set.

        Raises:
          ValueError: A shard index outside [0, num_shards).
        """
        p = self.params
        if p.shard_index is None and p.num_shards is None:
            index, count = (0, 1) if self.sequential else generic_input.ShardFromTfConfig()
        else:
            index = int(p.shard_index or 0)
            count = int(p.num_shards or 1)
        if not 0 <= index < count:
            raise ValueError(
                f"{type(self).__name__} {p.name!r}: shard_index {index} is not in "
                f"[0, num_shards={count})"
            )
        return index, count

    def CommonInputOpArgs(self) -> dict[str, Any]:
        """The keyword arguments of `generic_input.GenericInput` from these params.

        Sequential input with `repeat_count=-1` reads one pass per iteration, so that an
        evaluation sees every record exactly once; a new iteration (or `Reset()`) reads the
        next pass.
        """
        p = self.params
        index, count = self.ShardInfo()
        repeat = int(p.repeat_count)
        if self.sequential and repeat < 0:
            repeat = 1
        return dict(
            input_source_weights=list(p.input_source_weights) or None,
            file_random_seed=p.file_random_seed,
            file_buffer_size=p.file_buffer_size,
            file_parallelism=p.file_parallelism,
            flush_every_n=p.flush_every_n,
            require_sequential_order=self.sequential,
            repeat_count=repeat,
            shard_index=index,
            num_shards=count,
            batcher=p.batcher,
        )

    def _BucketingArgs(self) -> dict[str, Any]:
        """One bucket of `batch_size` examples (Lingvo's default for non-sequence input)."""
        return dict(bucket_upper_bound=[1000000], bucket_batch_limit=[self.InfeedBatchSize()])

    def _ProcessRecord(self, record: tf.Tensor) -> tuple[NestedMap, tf.Tensor]:
        """Turns one record (a string scalar) into `(NestedMap example, int bucket key)`.

        May instead take `(source_id, record)` by those names. Runs in TensorFlow inside
        tf.data; a negative key drops the record.
        """
        raise NotImplementedError(f"{type(self).__name__} {ABSTRACT}")

    def _DataSourceFromFilePattern(self, file_pattern: str) -> tf.data.Dataset:
        """Returns the dataset of `(batch, bucket_keys)` read from `file_pattern`."""
        if not file_pattern:
            raise ValueError(
                f"{type(self).__name__} {self.params.name!r}: file_pattern is not set; expected "
                "'<type>:<glob>' with type tfrecord, tfrecord_gzip, text or iota"
            )
        drops = self.__dict__.get("_drop_counter")
        if drops is None:
            # Outside module tracking: the counts are not model state and stay out of checkpoints.
            drops = generic_input.DropCounter(f"{type(self).__name__} {self.params.name!r}")
            object.__setattr__(self, "_drop_counter", drops)
        return generic_input.GenericInput(
            self._ProcessRecord,
            file_pattern=file_pattern,
            **self._BucketingArgs(),
            **self.CommonInputOpArgs(),
            drop_counter=drops,
        )

    def _BuildDataset(self) -> tf.data.Dataset:
        """Reads `file_pattern` through `_ProcessRecord`; adds `bucket_keys` to each batch."""

        def ToBatch(example: Any, keys: tf.Tensor) -> NestedMap:
            if not isinstance(example, dict):
                raise ValueError(
                    f"{type(self).__name__}._ProcessRecord must return a NestedMap example; "
                    f"got {type(example).__name__}"
                )
            batch = self._PostBatch(NestedMap(example))
            batch.bucket_keys = keys
            return batch

        ds = self._DataSourceFromFilePattern(self.params.file_pattern)
        return ds.map(ToBatch, num_parallel_calls=tf.data.AUTOTUNE)

    def _PostBatch(self, batch: NestedMap) -> NestedMap:
        """Adjusts one padded batch before `bucket_keys` is added; the identity here."""
        return batch


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
        p.Define(
            "tokenizer",
            tokenizers.AsciiTokenizer.Params(),
            "The params of the default tokenizer; None builds none.",
        )
        p.Define(
            "tokenizer_dict",
            {},
            "Tokenizer params by name, for inputs that tokenize several fields differently.",
        )
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        if len(p.bucket_upper_bound) != len(p.bucket_batch_limit):
            raise ValueError(
                f"{type(self).__name__} {p.name!r}: bucket_upper_bound {p.bucket_upper_bound} "
                f"and bucket_batch_limit {p.bucket_batch_limit} differ in length"
            )
        if p.bucket_adjust_every_n:
            raise ValueError(
                f"{type(self).__name__} {p.name!r}: bucket_adjust_every_n is not supported; "
                "expected 0"
            )
        names = {}
        if p.tokenizer is not None:
            self.CreateChild("tokenizer", p.tokenizer)
            names["default"] = "tokenizer"
        for key in sorted(p.tokenizer_dict or {}):
            if p.tokenizer_dict[key] is not None:
                self.CreateChild(f"tokenizer_{key}", p.tokenizer_dict[key])
                names[key] = f"tokenizer_{key}"
        object.__setattr__(self, "_tokenizer_names", names)

    @property
    def tokenizer_dict(self) -> dict[str, tokenizers.BaseTokenizer]:
        """The tokenizers by key; `default` is `params.tokenizer`."""
        return {k: getattr(self, name) for k, name in self._tokenizer_names.items()}

    @property
    def infeed_bucket_batch_limit(self) -> list[int]:
        """The batch size of each bucket for this input pipeline."""
        return [int(b) for b in self.params.bucket_batch_limit]

    def InfeedBatchSize(self) -> int:
        """The largest bucket batch size (Lingvo's infeed batch size of sequence input)."""
        return max(self.infeed_bucket_batch_limit)

    def _BucketingArgs(self) -> dict[str, Any]:
        return dict(
            bucket_upper_bound=[int(b) for b in self.params.bucket_upper_bound],
            bucket_batch_limit=self.infeed_bucket_batch_limit,
        )

    def _PostBatch(self, batch: NestedMap) -> NestedMap:
        """With `pad_to_max_seq_length`, pads `src.*` and `tgt.*` to the max lengths."""
        p = self.params
        if not p.pad_to_max_seq_length:
            return batch
        return generic_input.PadBatchToLength(
            batch, {"src": p.source_max_length, "tgt": p.target_max_length}
        )

    def _Tokenizer(self, key: str | None) -> tokenizers.BaseTokenizer:
        key = key or "default"
        tokenizers_by_key = self.tokenizer_dict
        if key not in tokenizers_by_key:
            raise ValueError(
                f"{type(self).__name__} {self.params.name!r}: no tokenizer {key!r}; it has "
                f"{sorted(tokenizers_by_key)}"
            )
        return tokenizers_by_key[key]

    def StringsToIds(
        self,
        strs: Any,
        is_source: bool = False,
        external_max_length: int | None = None,
        external_append_eos: bool | None = None,
        key: str | None = None,
        languages: Any = None,
    ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """Tokenizes strings to at most `source_max_length` / `target_max_length` tokens.

        Args:
          strs: A string tensor shaped [batch].
          is_source: Whether to cut to `source_max_length` instead of `target_max_length`.
          external_max_length: Overrides the max length when set.
          external_append_eos: Overrides the tokenizer's `append_eos` when not None.
          key: The `tokenizer_dict` key; None uses the default tokenizer.
          languages: Passed to the tokenizer.

        Returns:
          `(ids, labels, paddings)` shaped [batch, max_length].

        Raises:
          ValueError: No tokenizer under `key`, or no max length.
        """
        p = self.params
        max_length = external_max_length
        if max_length is None:
            max_length = p.source_max_length if is_source else p.target_max_length
        if not max_length:
            raise ValueError(
                f"{type(self).__name__} {p.name!r}: set "
                f"{'source' if is_source else 'target'}_max_length to tokenize"
            )
        return self._Tokenizer(key).StringsToIds(
            strs, max_length, external_append_eos=external_append_eos, languages=languages
        )

    def IdsToStrings(
        self, ids: Any, lens: Any, key: str | None = None, languages: Any = None
    ) -> tf.Tensor:
        """Turns id rows shaped [batch, time] with lengths [batch] into strings [batch]."""
        return self._Tokenizer(key).IdsToStrings(ids, lens, languages=languages)
