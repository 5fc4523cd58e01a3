"""``camdrift verify``: after cleaning or replacing the lens, is the camera back? Exit 0 pass (or warn), 1 drift,
2 could not run (including a capture too short for the agent's rule).

It decides as the agent does: the capture is replayed through the agent's engine, so FAIL means ``camdrift run``
would have started a drift episode on that footage. Run against a baseline built from the model's training
images it is the data readiness check at deployment: is production like the training data?
"""

from __future__ import annotations

import argparse
import json

from camdrift.agent.drift.explain import likely_cause
from camdrift.agent.drift.words import cause_words
from camdrift.agent.reference.baseline import Baseline
from camdrift.calibration.capture import Capture, CaptureError
from camdrift.calibration.options import EXIT_DRIFT, EXIT_OK, UsageError, bounded_int, fail, read_baseline
from camdrift.calibration.verify.recapture import capture_for, verify_capture
from camdrift.calibration.verify.replay import AGENT_PERSISTENCE, frames_needed
from camdrift.calibration.verify.verdict import VerifyResult, as_json, table

NAME = "verify"
EPILOG = f"""exit codes:
  0  PASS, or PASS with warnings (a statistic rose above its warn threshold but the agent would not have called
     drift: check again after the fix settles)
  1  FAIL: the agent would have started a drift episode on this capture (the cause is printed)
  2  could not run: bad option, baseline or source, or a capture too short for the agent's rule (one window
     plus {AGENT_PERSISTENCE - 1} more frames: the message says how many frames it needs)"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        NAME,
        help="compare a short capture with a baseline (exit 0 pass, 1 drift, 2 could not run)",
        description="Captures a few windows of frames and replays them through the agent's engine: every "
        "statistic passes, warns (above its warn threshold) or fails (in drift by the agent's rule: "
        f"{AGENT_PERSISTENCE} consecutive windows above its drift threshold), with the likely cause the agent would have published.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--baseline", required=True, metavar="BASELINE", help="baseline file (camdrift calibrate)")
    p.add_argument("--source", metavar="SRC", help="frame source URI (default: the config's)")
    p.add_argument("--config", metavar="CFG", help="agent TOML configuration (for the source)")
    p.add_argument(
        "--frames",
        type=bounded_int(1, 10_000_000),
        metavar="N",
        help="analysed frames to capture (default 2 windows)",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        baseline = read_baseline(args.baseline)
        need = frames_needed(baseline)
        if args.frames is not None and args.frames < need:
            raise UsageError(
                f"--frames {args.frames}: the agent calls drift only after {AGENT_PERSISTENCE} consecutive "
                f"windows of {baseline.thresholds.window} above a drift threshold, so verify needs at least "
                f"{need} frames"
            )
        frames = args.frames or max(2 * baseline.thresholds.window, need)
        cap = capture_for(baseline, args, frames, args.quiet or args.json)
        result = verify_capture(baseline, cap)
    except (UsageError, CaptureError) as exc:
        if getattr(args, "json", False):
            print(json.dumps({"verdict": "error", "error": str(exc)}))
        return fail(NAME, exc)
    if args.json:
        doc = as_json(result)
        doc.update(baseline=args.baseline, baseline_id=baseline.baseline_id, source=cap.source)
        doc["skipped"] = dict(cap.skipped)
        doc["source_ended"] = bool(cap.ended and result.frames < frames)
        print(json.dumps(doc, indent=2))
    else:
        print(report_text(result, baseline, cap, args.baseline, frames))
    return EXIT_DRIFT if result.verdict == "fail" else EXIT_OK


def report_text(result: VerifyResult, baseline: Baseline, cap: Capture, path: str, requested: int) -> str:
    """The verdict and its cause first, in plain words; how it was decided; then the table."""
    if result.verdict == "fail":
        cause = cause_words(result.causes[0].code) if result.causes else "drift found"
        head = [f"FAIL: {cause}"]
    elif result.verdict == "warn":
        head = ["PASS with warnings: close to the thresholds, check again after the fix settles"]
    else:
        head = ["PASS: the camera matches its baseline"]
    if result.verdict != "pass" and result.causes:
        head.append(f"  likely cause: {likely_cause(result.causes)}")
    head.append(f"  {result.reason}")
    lines = [
        f"verify {cap.source} against {path} (camera {baseline.camera_id}, baseline {baseline.baseline_id})",
        *head,
        f"{result.frames} frames, {result.windows} windows of {baseline.thresholds.window}, decided as the agent "
        f"decides (drift after {result.persistence} consecutive windows above a drift threshold)",
        "",
        table(result),
    ]
    if cap.ended and result.frames < requested:
        lines.append(f"note: the source ended after {result.frames} of {requested} frames")
    if cap.skipped:
        lines.append("skipped frames: " + ", ".join(f"{n} {r}" for r, n in cap.skipped.items()))
    return "\n".join(lines)
