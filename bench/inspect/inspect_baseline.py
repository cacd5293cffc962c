#!/usr/bin/env python3
"""UK AISI's inspect-ai evaluating N trivial answer items, for comparison
with hone-bench's runner (bench/benches/bench_runner.rs runs this in a venv
it creates with the pinned inspect-ai).

    python inspect_baseline.py N

The model is inspect's own `mockllm/model` provider with outputs that carry
their usage (without it inspect tries to download a tokenizer and every
sample errors); the scorer is `match`. Every output is the right answer, so
all samples score correct. Prints one line: `INSPECT items=<n> seconds=<f>
items_per_s=<f> correct=<n>`. Offline: logs go to a temporary directory.
"""

import sys
import tempfile
import time

from inspect_ai import Task, eval as inspect_eval
from inspect_ai.dataset import Sample
from inspect_ai.model import ModelOutput, ModelUsage, get_model
from inspect_ai.scorer import match
from inspect_ai.solver import generate


def outputs(n):
    for _ in range(n):
        out = ModelOutput.from_content(model="mockllm/model", content="The answer is 42.\nFINAL ANSWER: 42")
        out.usage = ModelUsage(input_tokens=20, output_tokens=10, total_tokens=30)
        yield out


def main():
    n = int(sys.argv[1])
    samples = [Sample(input=f"Item {i}: what is 6 * 7?", target="42", id=f"q{i}") for i in range(n)]
    task = Task(dataset=samples, solver=generate(), scorer=match(location="end"))
    model = get_model("mockllm/model", custom_outputs=outputs(n))
    with tempfile.TemporaryDirectory() as logs:
        started = time.perf_counter()
        [log] = inspect_eval(task, model=model, log_dir=logs, display="none")
        seconds = time.perf_counter() - started
        # Samples are read back from the log file: inside the directory.
        correct = 0
        for sample in log.samples or []:
            for score in (sample.scores or {}).values():
                if score.value == "C":
                    correct += 1
    print(f"INSPECT items={n} seconds={seconds:.3f} items_per_s={n / seconds:.3f} correct={correct} status={log.status}")


if __name__ == "__main__":
    main()
