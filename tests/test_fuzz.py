"""A time-boxed fuzz run of the public entry points (fit, predict, predict_proba)
over random parameter and input combinations.

``FASTSGD_FUZZ_SECONDS`` sets the budget (5 s by default; CI gives it minutes on
the bounds-checked build, where an out-of-bounds access raises instead of silently
corrupting memory). Each round draws fresh random cases; a failure is shrunk to a
minimal example by hypothesis.
"""

import os
import time
from collections import Counter

from fuzzing import check_fit_predict, fit_cases
from hypothesis import HealthCheck, Phase, given, settings


def test_fuzz_public_entry_points_within_a_time_budget():
    budget = float(os.environ.get("FASTSGD_FUZZ_SECONDS", "5"))
    outcomes = Counter()

    @settings(
        max_examples=25,
        deadline=None,
        database=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(fit_cases())
    def one_round(case):
        outcomes[check_fit_predict(*case)] += 1

    start = time.monotonic()
    while time.monotonic() - start < budget:
        one_round()
    print(
        f"\nfuzz: {sum(outcomes.values())} generated cases in "
        f"{time.monotonic() - start:.0f} s: {outcomes['fitted']} fitted and "
        f"predicted finite outputs, {outcomes['rejected']} rejected with a clear "
        "ValueError/TypeError"
    )
    assert outcomes["fitted"] > 0 and outcomes["rejected"] > 0
