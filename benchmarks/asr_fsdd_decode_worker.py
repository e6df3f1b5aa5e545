"""Worker of `bench_asr_fsdd`: the WER of one checkpoint on the held-out speaker's test set.

Transcribes every `<data>/wav/test/*.wav` with `lingvo.tasks.asr.tools.transcribe` (the
newest checkpoint of the logdir, or `--checkpoint`) and scores the best hypotheses against
`<data>/test.txt` with the model's WER. Prints one JSON line: step, wer, errors, words,
sentence accuracy, utterances and decode seconds.

    python asr_fsdd_decode_worker.py --logdir=LOG --data=DATA [--checkpoint=PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--logdir", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--model", default="asr.fsdd.ConnectedDigits")
    parser.add_argument("--model_params_override", default=None, help="As the trainer's.")
    args = parser.parse_args()
    os.environ["LINGVO_FSDD_DIGITS_DIR"] = args.data

    import lingvo.core  # registers the core factories
    import lingvo.tasks.asr.params  # noqa: F401  (registers the experiment)
    from lingvo.tasks.asr import model
    from lingvo.tasks.asr.tools import transcribe

    with open(os.path.join(args.data, "test.txt"), encoding="utf-8") as f:
        refs = dict(line.rstrip("\n").split(" ", 1) for line in f if line.strip())
    uttids = sorted(refs)
    files = [os.path.join(args.data, "wav", "test", f"{u}.wav") for u in uttids]
    path = args.checkpoint or transcribe.FindCheckpoint(args.logdir)
    tr = transcribe.LoadTranscriber(
        args.model,
        args.logdir,
        checkpoint=path,
        model_params_override=args.model_params_override,
    )
    start = time.time()
    hyps = tr.Transcribe(files, batch_size=32)
    decode_s = time.time() - start
    counts = model.ComputeWer(hyps, [refs[u] for u in uttids])
    errors, words = int(counts[:, 0].sum()), int(counts[:, 1].sum())
    step = int(re.search(r"ckpt-(\d+)", path).group(1))
    print(
        json.dumps(
            {
                "step": step,
                "wer": errors / max(words, 1),
                "errors": errors,
                "words": words,
                "sacc": float((counts[:, 0] == 0).mean()),
                "utterances": len(uttids),
                "decode_s": decode_s,
                "example": {"ref": refs[uttids[0]], "hyp": hyps[0]},
            }
        )
    )


if __name__ == "__main__":
    main()
