"""Times beam-search decoding with a 6-layer Transformer decoder, in ours or in lingvo 0.14.2.

Usage: python beam_decode_worker.py {ours|lingvo} <repeats>

Both sides build their MT `TransformerDecoder` (model dim 512, 8 heads, feed-forward 2048,
vocabulary 32,000, unsharded softmax) and run its `BeamSearchDecode` over the same fixed random
encoder output (source length 20, batch 16) with 4 hyps per beam for 50 steps. The end of
sequence never terminates a hyp (`local_eos_threshold=0`: a log-probability is never above 0),
so every decode runs all 50 steps on both sides and the work is identical. Ours runs as one
`tf.function`, Lingvo's as one graph in a `tf.compat.v1.Session` (how its decoder job runs).

Prints one JSON line: wall and CPU seconds per decode for each timed repeat (CPU time, all
threads, varies less than wall time on a shared machine), and the milliseconds per decode
spent in the beam-search kernels (`beam_search_step` and `top_k_terminated_hyps`): ours timed
around the kernel calls, Lingvo's summed from a traced run's op statistics.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

BATCH = 16
HYPS_PER_BEAM = 4
VOCAB = 32_000
MODEL_DIM = 512
HIDDEN_DIM = 2048
HEADS = 8
LAYERS = 6
SRC_LEN = 20
STEPS = 50


def _EncoderOutput() -> np.ndarray:
    return (
        np.random.default_rng(20240521).normal(size=[SRC_LEN, BATCH, MODEL_DIM]).astype(np.float32)
    )


def RunOurs(repeats: int) -> dict:
    import tensorflow as tf

    from lingvo import ops
    from lingvo.core.nested_map import NestedMap
    from lingvo.tasks.mt import decoder

    p = decoder.TransformerDecoder.Params().Set(
        name="dec", model_dim=MODEL_DIM, source_dim=MODEL_DIM, target_seq_len=STEPS
    )
    p.token_emb.vocab_size = VOCAB
    p.softmax.Set(num_classes=VOCAB, num_shards=1)
    p.trans_stack.Set(num_layers=LAYERS, hidden_dim=HIDDEN_DIM, num_atten_heads=HEADS)
    p.beam_search.Set(num_hyps_per_beam=HYPS_PER_BEAM, local_eos_threshold=0.0)
    dec = p.Instantiate()

    kernel_seconds = [0.0]
    for name in ("beam_search_step", "top_k_terminated_hyps"):
        kernel = getattr(ops, name)

        def Timed(*args, _kernel=kernel, **kwargs):
            start = time.perf_counter()
            try:
                return _kernel(*args, **kwargs)
            finally:
                kernel_seconds[0] += time.perf_counter() - start

        setattr(ops, name, Timed)

    enc = NestedMap(
        encoded=tf.constant(_EncoderOutput()), padding=tf.zeros([SRC_LEN, BATCH], tf.float32)
    )

    @tf.function
    def Decode(enc):
        return dec.BeamSearchDecode(dec.theta, enc).topk_ids

    def Run():
        return Decode(enc).numpy()

    return _Time(Run, repeats, lambda: kernel_seconds[0])


def RunLingvo(repeats: int) -> dict:
    from absl import flags

    flags.FLAGS([sys.argv[0]])  # Lingvo's layers read flag defaults while building
    import tensorflow.compat.v1 as tf1

    from lingvo.core import py_utils
    from lingvo.tasks.mt import decoder

    tf1.disable_eager_execution()
    graph = tf1.Graph()
    with graph.as_default():
        p = decoder.TransformerDecoder.Params().Set(
            name="dec",
            model_dim=MODEL_DIM,
            source_dim=MODEL_DIM,
            num_trans_layers=LAYERS,
            target_seq_len=STEPS,
        )
        p.token_emb.Set(vocab_size=VOCAB, embedding_dim=MODEL_DIM)
        p.position_emb.embedding_dim = MODEL_DIM
        p.trans_tpl.source_dim = MODEL_DIM
        p.trans_tpl.tr_atten_tpl.Set(source_dim=MODEL_DIM, num_attention_heads=HEADS)
        p.trans_tpl.tr_fflayer_tpl.Set(input_dim=MODEL_DIM, hidden_dim=HIDDEN_DIM)
        p.softmax.Set(num_classes=VOCAB, num_shards=1)
        p.beam_search.Set(num_hyps_per_beam=HYPS_PER_BEAM, local_eos_threshold=0.0)
        dec = p.Instantiate()
        enc = py_utils.NestedMap(
            encoded=tf1.constant(_EncoderOutput()),
            padding=tf1.zeros([SRC_LEN, BATCH], tf1.float32),
        )
        out = dec.BeamSearchDecode(enc)
        init = tf1.global_variables_initializer()
    sess = tf1.Session(graph=graph)
    sess.run(init)

    def Run():
        return sess.run(out.topk_ids)

    def KernelSeconds() -> float:
        options = tf1.RunOptions(trace_level=tf1.RunOptions.FULL_TRACE)
        meta = tf1.RunMetadata()
        sess.run(out.topk_ids, options=options, run_metadata=meta)
        micros = 0
        for dev in meta.step_stats.dev_stats:
            for node in dev.node_stats:
                if "BeamSearchStep" in node.node_name or "TopKTerminatedHyps" in node.node_name:
                    micros += node.all_end_rel_micros
        return micros * 1e-6

    result = _Time(Run, repeats, None)
    traced = KernelSeconds()
    result["kernel_ms_per_decode"] = traced * 1e3
    return result


def _Time(run, repeats: int, kernel_seconds) -> dict:
    first = run()  # warm-up: tracing, graph building, first-call allocations
    assert first.shape[-1] == STEPS, first.shape
    seconds, cpu_seconds = [], []
    kernel_before = kernel_seconds() if kernel_seconds else 0.0
    for _ in range(repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        run()
        seconds.append(time.perf_counter() - start)
        cpu_seconds.append(time.process_time() - cpu_start)
    result = {"seconds_per_decode": seconds, "cpu_seconds_per_decode": cpu_seconds}
    if kernel_seconds:
        result["kernel_ms_per_decode"] = (kernel_seconds() - kernel_before) / repeats * 1e3
    return result


def main(impl: str, repeats: int) -> None:
    runners = {"ours": RunOurs, "lingvo": RunLingvo}
    if impl not in runners:
        raise SystemExit(f"impl must be one of {sorted(runners)}, got {impl!r}")
    result = runners[impl](repeats)
    print(json.dumps({"impl": impl, **result}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
