import os

from hypothesis import HealthCheck, settings

# Deterministic property tests: the same examples on every run (CI included), no
# wall-clock deadline (the machine may be loaded).
settings.register_profile(
    "bn-noise",
    derandomize=True,
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "bn-noise"))
