"""Wall-clock timing shared by the Python sides of the benches (scripts run by path, so this imports as `timing`)."""
import time

import numpy as np


def times_ms(fn, warmup, runs):
    """Every run's wall time in ms of `fn()` after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return times


def median_ms(fn, warmup, runs):
    """The median of times_ms(fn, warmup, runs)."""
    return float(np.median(times_ms(fn, warmup, runs)))
