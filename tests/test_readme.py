"""The README's examples that no other test runs, run as written."""

import contextlib
import io
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_block_with(text):
    if not README.is_file():
        pytest.skip("the README is not here: this test needs a source checkout")
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    matches = [b for b in blocks if text in b]
    assert len(matches) == 1, f"expected one README example with {text!r}"
    return matches[0]


def test_the_streaming_early_stopping_example_stops_and_restores_the_best_call():
    code = _python_block_with("model.stop_training_")
    namespace = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102
    model = namespace["model"]
    calls, best = len(model.history_), model.best_epoch_
    assert model.stop_training_
    assert best < calls and calls - best > model.n_iter_no_change
    match = re.fullmatch(
        r"(\d+) calls; best (\d+) valid F1 ([\d.]+) = ([\d.]+)\n", out.getvalue()
    )
    assert match, out.getvalue()
    assert (int(match[1]), int(match[2])) == (calls, best)
    # the restored model's F1 is the best call's recorded score
    assert match[3] == match[4]
    assert float(match[3]) > 0.8
