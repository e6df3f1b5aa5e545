"""Generates continuations of a prompt with a trained language model.

Usage:

    python -m lingvo.tasks.lm.tools.sample --model=lm.one_billion_wds.WordLevelOneBwdsCpu \
        --logdir=/tmp/lm/logdir --prompt="a man is" --num_samples=4 \
        --temperature=0.8 --top_k=40 --max_steps=20 --seed=1

The prompt is tokenized by the model's input tokenizer (`<S>` first), fed through the
model's incremental `Step` (the LSTM state of `RnnLm`, the key/value caches of
`TransformerLm`), and each continuation is drawn one token at a time from the softmax
of `logits / temperature` restricted to the `top_k` most likely tokens, until `</S>` or
`max_steps` tokens. `temperature=0` (or `top_k=1`) is greedy decoding. Draws are
stateless and seeded, so a seed gives the same continuations every run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from lingvo.tasks.lm.tools import restore

__all__ = ["SampleIds", "Sampler", "main"]


def SampleIds(logits: Any, temperature: float, top_k: int, seed: Any) -> Any:
    """Draws one id per row of `logits` [batch, vocab].

    Args:
      logits: Unnormalized log-probabilities shaped [batch, vocab].
      temperature: Divides the logits; 0 picks the argmax (greedy).
      top_k: Only the `top_k` largest logits of each row can be drawn; 0 keeps all.
      seed: The stateless seed, an int32 tensor shaped [2].

    Returns:
      int32 ids shaped [batch].
    """
    import tensorflow as tf

    logits = tf.cast(logits, tf.float32)
    if temperature == 0 or top_k == 1:
        return tf.argmax(logits, axis=-1, output_type=tf.int32)
    logits = logits / temperature
    if top_k and top_k < logits.shape[-1]:
        kth = tf.math.top_k(logits, k=top_k).values[:, -1:]
        logits = tf.where(logits < kth, tf.constant(-np.inf, logits.dtype), logits)
    draws = tf.random.stateless_categorical(logits, 1, seed, dtype=tf.int32)
    return draws[:, 0]


class Sampler:
    """Samples continuations from a `LanguageModel` task with its layer's incremental `Step`.

    Args:
      task: A `lingvo.tasks.lm.model.LanguageModel` whose `lm` has `Step` and `zero_state`
        (`RnnLm` or `TransformerLm`), variables set.
      temperature: See `SampleIds`; must be >= 0.
      top_k: See `SampleIds`; must be >= 0.
      seed: The seed of the draws.
    """

    def __init__(self, task: Any, temperature: float = 1.0, top_k: int = 0, seed: int = 0):
        import tensorflow as tf

        if temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        if top_k < 0:
            raise ValueError(f"top_k must be >= 0, got {top_k}")
        self.task = task
        self.temperature = float(temperature)
        self.top_k = int(top_k)
        self.seed = int(seed)
        tok = task.input_generator.params.tokenizer
        self._sos, self._eos = int(tok.target_sos_id), int(tok.target_eos_id)
        self._step = tf.function(self._Step, autograph=False, reduce_retracing=True)

    def _ZeroState(self, batch: int, max_len: int) -> Any:
        from lingvo.tasks.lm import layers

        lm = self.task.lm
        if isinstance(lm, layers.TransformerLm):
            return lm.zero_state(lm.theta, batch, max_len)
        return lm.zero_state(lm.theta, batch)

    def _Step(self, ids: Any, state: Any, seed: Any) -> tuple[Any, Any, Any]:
        import tensorflow as tf

        from lingvo.core import run_mode

        lm = self.task.lm
        with run_mode.EvalMode():
            out, state = lm.Step(lm.theta, ids, state)
        # <S> only starts a sentence; it is never a continuation.
        logits = out.logits + tf.one_hot(self._sos, tf.shape(out.logits)[-1], on_value=-1e9)
        return SampleIds(logits, self.temperature, self.top_k, seed), out.log_probs, state

    def PromptIds(self, prompt: str) -> list[int]:
        """`<S>` and the prompt's token ids, as the input tokenizer makes them."""
        import tensorflow as tf

        gen = self.task.input_generator
        ids, _, paddings = gen.StringsToIds(tf.constant([" ".join(prompt.split())]))
        n = int(np.sum(1.0 - np.asarray(paddings)[0]))
        return [int(x) for x in np.asarray(ids)[0, :n]]

    def SampleFromIds(
        self, prompt_ids: Sequence[int], num_samples: int = 1, max_steps: int = 20
    ) -> tuple[np.ndarray, np.ndarray]:
        """Continues `prompt_ids` `num_samples` times.

        Returns:
          `(ids, log_probs)`: int32 [num_samples, max_steps], the drawn ids (positions after
          a row's `</S>` hold `</S>`), and float32 [num_samples, max_steps], the model's
          log-probability of each drawn id (0 after `</S>`).
        """
        import tensorflow as tf

        if not prompt_ids:
            raise ValueError("the prompt needs at least one id (<S>)")
        if num_samples < 1 or max_steps < 1:
            raise ValueError(f"num_samples {num_samples} and max_steps {max_steps} must be >= 1")
        state = self._ZeroState(num_samples, len(prompt_ids) + max_steps)
        seed = np.array([self.seed, 0], np.int32)
        for i, token in enumerate(prompt_ids):
            seed[1] = i
            fill = tf.fill([num_samples], tf.constant(token, tf.int32))
            drawn, log_probs, state = self._step(fill, state, tf.constant(seed))
        ids = np.full([num_samples, max_steps], self._eos, np.int32)
        costs = np.zeros([num_samples, max_steps], np.float32)
        done = np.zeros([num_samples], bool)
        for t in range(max_steps):
            drawn = np.asarray(drawn)
            chosen = np.take_along_axis(np.asarray(log_probs), drawn[:, None], axis=1)[:, 0]
            ids[:, t] = np.where(done, self._eos, drawn)
            costs[:, t] = np.where(done, 0.0, chosen)
            done |= drawn == self._eos
            if done.all() or t + 1 == max_steps:
                break
            seed[1] = len(prompt_ids) + t
            drawn, log_probs, state = self._step(tf.constant(ids[:, t]), state, tf.constant(seed))
        return ids, costs

    def Sample(
        self, prompt: str, num_samples: int = 1, max_steps: int = 20
    ) -> list[tuple[str, float]]:
        """Continues the text `prompt`; returns `(continuation, log_prob)` per sample."""
        import tensorflow as tf

        ids, costs = self.SampleFromIds(self.PromptIds(prompt), num_samples, max_steps)
        lengths = np.argmax(
            np.concatenate([ids, np.full_like(ids[:, :1], self._eos)], 1) == self._eos, 1
        )
        texts = self.task.input_generator.IdsToStrings(tf.constant(ids), tf.constant(lengths))
        return [
            (t.decode("utf-8", "replace"), float(np.sum(c)))
            for t, c in zip(np.asarray(texts).tolist(), costs, strict=True)
        ]


def _Parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m lingvo.tasks.lm.tools.sample",
        description="Samples continuations of a prompt from a trained language model.",
    )
    parser.add_argument("--model", required=True, help="Registry key of the experiment.")
    parser.add_argument("--logdir", default=None, help="The training run's logdir.")
    parser.add_argument("--checkpoint", default=None, help="A checkpoint instead of the newest.")
    parser.add_argument("--prompt", default="", help="The text to continue ('' starts afresh).")
    parser.add_argument("--num_samples", type=int, default=1, help="Continuations to draw.")
    parser.add_argument("--max_steps", type=int, default=20, help="Most tokens per sample.")
    parser.add_argument("--temperature", type=float, default=1.0, help="0 is greedy.")
    parser.add_argument("--top_k", type=int, default=0, help="0 keeps the whole vocabulary.")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the draws.")
    parser.add_argument("--dataset", default="Test", help="Dataset whose input tokenizes.")
    parser.add_argument(
        "--model_params_override", default=None, help="Params overrides, as the trainer's."
    )
    return parser


def ParseArgs(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parses and checks the command line (exits with a usage message on bad values)."""
    parser = _Parser()
    args = parser.parse_args(argv)
    for name in ("num_samples", "max_steps"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1, got {getattr(args, name)}")
    if args.temperature < 0:
        parser.error(f"--temperature must be >= 0, got {args.temperature}")
    if args.top_k < 0:
        parser.error(f"--top_k must be >= 0, got {args.top_k}")
    if not args.logdir and not args.checkpoint:
        parser.error("pass --logdir (its newest checkpoint is used) or --checkpoint")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = ParseArgs(argv)
    try:
        checkpoint = args.checkpoint or restore.FindCheckpoint(args.logdir)
        params = restore.TaskParams(args.model, args.dataset, args.model_params_override)
        task, path, step = restore.RestoreTask(params, checkpoint=checkpoint)
    except (restore.NoCheckpointError, ValueError, LookupError) as e:
        print(f"sample: error: {e}", file=sys.stderr)
        return 1
    print(f"sample: restored {path} (step {step})", file=sys.stderr)
    sampler = Sampler(task, args.temperature, args.top_k, args.seed)
    for text, log_prob in sampler.Sample(args.prompt, args.num_samples, args.max_steps):
        print(f"{log_prob:.4f}\t{text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
