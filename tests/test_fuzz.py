"""Fuzzing the public entry points (fit, predict, predict_proba) over random
parameter and input combinations: whatever a user passes either trains and
predicts finite outputs or gets a clear ValueError/TypeError, and nothing valid
is refused. The last test is a time-boxed run.

``FASTSGD_FUZZ_SECONDS`` sets the budget (5 s by default; CI gives it minutes on
the bounds-checked build, where an out-of-bounds access raises instead of silently
corrupting memory). Each round draws fresh random cases; a failure is shrunk to a
minimal example by hypothesis.
"""

import os
import time
from collections import Counter

from fuzzing import check_fit_predict, fit_cases, valid_fit_cases
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


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(fit_cases())
def test_any_input_fits_and_predicts_finite_or_raises_a_clear_error(case):
    check_fit_predict(*case)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(valid_fit_cases())
def test_valid_input_in_any_form_fits_and_predicts_finite(case):
    """The other side of the property: nothing valid is refused."""
    assert check_fit_predict(*case) == "fitted"
