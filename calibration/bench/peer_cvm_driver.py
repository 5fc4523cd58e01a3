"""Runs alibi-detect's CVMDriftOnline over per-frame statistics; executed by :mod:`peer_cvm` in ``.venv-peers``.

Standalone on purpose (stdlib + numpy + alibi_detect only, never camdrift): alibi-detect 0.13 needs numpy < 2 and
cannot share the project's virtualenv. Usage::

    python peer_cvm_driver.py IN.npz OUT.json ERT WINDOWS N_BOOTSTRAPS

IN.npz (read with allow_pickle=False) holds ``ref__<group>``: (R, F) float64 reference rows, one per group, all
with the same R, and ``stream__<group>__<name>``: (n, F) float64 rows of a stream judged against that group's
reference. WINDOWS is comma-separated (e.g. ``10,20,40``). OUT.json receives ``{"alarms": {name: [frame index,
...]}, "config_s": ..., "run_s": ..., ...}``; after each detection the detector's state is reset (alarms on a long
stream are counted as river counts them).

The thresholds are simulated once: CVM statistics are rank based, so they depend only on the reference size, the
windows, the ERT and the number of features, not on the data (alibi-detect's own ``_configure_thresholds``
simulates Gaussian streams for that reason). Every further group reuses them with its own reference.
"""

import copy
import json
import sys
import time

import numpy as np


def main(argv: list[str]) -> int:
    if len(argv) != 6:
        print("\n\n".join(__doc__.split("\n\n")[1:3]), file=sys.stderr)  # the usage paragraph and its line
        return 2
    src, dst, ert, windows, n_boot = argv[1], argv[2], float(argv[3]), argv[4], int(argv[5])
    window_sizes = [int(w) for w in windows.split(",")]
    import alibi_detect
    from alibi_detect.cd import CVMDriftOnline

    with np.load(src, allow_pickle=False) as z:
        arrays = {k: z[k].astype(np.float64) for k in z.files}
    refs = {k[len("ref__") :]: v for k, v in arrays.items() if k.startswith("ref__")}
    if not refs or len({v.shape for v in refs.values()}) != 1:
        print("peer_cvm_driver: need ref__<group> arrays, all of one shape", file=sys.stderr)
        return 2
    np.random.seed(0)  # alibi-detect simulates the thresholds with the global numpy generator
    t0 = time.perf_counter()
    detectors = {}
    for group, ref in sorted(refs.items()):
        if not detectors:
            detectors[group] = CVMDriftOnline(
                ref, ert=ert, window_sizes=window_sizes, n_bootstraps=n_boot, batch_size=16, verbose=False
            )
        else:  # same thresholds, this group's reference
            det = copy.deepcopy(next(iter(detectors.values())))
            det.x_ref = det._check_x(ref, x_ref=True)
            det._configure_ref()
            det.reset_state()
            detectors[group] = det
    config_s = time.perf_counter() - t0
    alarms: dict[str, list[int]] = {}
    frames = 0
    t1 = time.perf_counter()
    for key, rows in arrays.items():
        if not key.startswith("stream__"):
            continue
        group, name = key[len("stream__") :].split("__", 1)
        det = detectors[group]
        det.reset_state()
        hits = []
        for i, x in enumerate(rows):
            if det.predict(x, return_test_stat=False)["data"]["is_drift"]:
                hits.append(i)
                det.reset_state()
        alarms[name] = hits
        frames += len(rows)
    doc = {
        "alibi_detect": alibi_detect.__version__,
        "ert": ert,
        "window_sizes": window_sizes,
        "n_bootstraps": n_boot,
        "n_ref": int(next(iter(refs.values())).shape[0]),
        "config_s": config_s,
        "run_s": time.perf_counter() - t1,
        "frames": frames,
        "alarms": alarms,
    }
    with open(dst, "w", encoding="utf-8") as f:
        json.dump(doc, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
