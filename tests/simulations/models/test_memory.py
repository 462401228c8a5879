"""Memory stays flat: a 1e9-sample BN simulation keeps peak RSS under 400 MB."""

import json
import subprocess
import sys

import pytest

# Peak RSS of this process alone: VmHWM of /proc/self/status (the high-water mark of the
# process's own address space). ru_maxrss is NOT used on Linux: the kernel carries it across
# exec, so a child spawned by a big pytest process would report the parent's peak.
SCRIPT = """
import json, resource
from simulations import simulate_bn
sim = simulate_bn(8, 10**9, rng=2024, workers=2, progress=False)
try:
    with open("/proc/self/status") as fh:
        peak = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
except OSError:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"samples": sim.samples, "verdict": sim.verdict, "maxrss_kib": peak}))
"""


@pytest.mark.slow
def test_1e9_samples_peak_rss_below_400_mb():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         check=True, timeout=600).stdout
    res = json.loads(out.strip().splitlines()[-1])
    assert res["samples"] >= 10**9
    assert res["maxrss_kib"] * 1024 < 400e6, res     # Linux: ru_maxrss in KiB
    assert res["verdict"] == "agree"
