"""Corpus clips on disk (corpus_files.py): mp4v videos, PNG folders and the source URIs the CLI reads them by.

- a PNG clip holds the rendered frames byte for byte (the module's reason a PNG scene's long healthy stream may be
  read as a 5 fps render);
- an mp4v clip is a real video: OpenCV opens it with the clip's frame count, size and rate;
- ``write_clip`` returns a URI the agent's own source parser opens, giving every frame at the clip's stream time:
  ``video:``, ``dir:...?fps=..&pattern=*.png``, and ``synthetic:`` for a PNG scene's long healthy stream; the
  lamp decay is a PNG folder in every scene; ``remove_clip`` deletes what was written;
- ``first_affected`` is the onset for a gain step, the first frame a new product is in view for a content
  change, and ``clip.frames`` when nothing differs (a healthy clip, or beyond ``limit_s``).
Tiny clips (160x96 px, a few seconds) keep it fast.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from camdrift.agent.sim.scenarios import scenario_stream
from camdrift.calibration.bench.corpus import CORPUS, Clip, CorpusScene, CorpusSettings, clips
from camdrift.calibration.bench.corpus_files import clip_format, first_affected, remove_clip, write_clip
from camdrift.calibration.bench.corpus_peers import source_frames

SIZE = (160, 96)
TINY = CorpusSettings(
    ref_s=2.0,
    healthy_frames=10,
    lead_s=1.0,
    watch_s=1.0,
    verify_s=1.0,
    verify_clips=1,
    changes=("gain_step",),
    lamp_loss=0.001,
)
CUPS = replace(CORPUS[0], size=SIZE)  # mp4v, 30 fps
MIXED = replace(CORPUS[2], size=SIZE)  # PNG, 10 fps


def _clip(scene: CorpusScene, role: str, settings: CorpusSettings = TINY) -> Clip:
    return next(c for c in clips(scene, settings) if c.role == role)


def _rendered(scene: CorpusScene, clip: Clip) -> list[np.ndarray]:
    onset = 0 if clip.onset is None else clip.onset
    stream = scenario_stream(
        clip.scenario,
        clip.frames,
        seed=clip.seed,
        size=scene.size,
        fps=clip.fps,
        onset_frame=onset,
        scene=scene.name,
    )
    return [f.image for f in stream]


def _read(uri: str) -> tuple[list[float], list[np.ndarray]]:
    """Every frame the agent's source gives for ``uri``: stream times and images."""
    frames = list(source_frames(uri))
    return [f.stream_time for f in frames], [f.image for f in frames]


def test_png_clip_round_trips_byte_exactly(tmp_path: Path) -> None:
    clip = _clip(MIXED, "change")  # healthy lead-in, then the gain step
    uri = write_clip(MIXED, clip, tmp_path)
    folder = tmp_path / clip.name
    assert uri == f"dir:{folder}?fps=10&pattern=*.png"
    files = sorted(folder.glob("*.png"))
    assert len(files) == clip.frames
    for path, image in zip(files, _rendered(MIXED, clip), strict=True):
        back = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        assert back.dtype == np.uint8 and np.array_equal(back, image), path.name


def test_mp4v_clip_is_a_video_with_the_clip_frames_size_and_rate(tmp_path: Path) -> None:
    clip = _clip(CUPS, "reference")
    uri = write_clip(CUPS, clip, tmp_path)
    path = tmp_path / f"{clip.name}.mp4"
    assert uri == f"video:{path}" and path.stat().st_size > 0
    cap = cv2.VideoCapture(str(path))
    try:
        assert cap.isOpened()
        assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == clip.frames == 60
        assert (cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)) == SIZE
        assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(30.0)
        decoded = []
        while True:
            ok, image = cap.read()
            if not ok:
                break
            decoded.append(image)
    finally:
        cap.release()
    assert len(decoded) == clip.frames
    # lossy, but the rendered frames: at a quarter of the size (codec and sensor noise averaged out) much closer
    # to them than to another seed's (measured 2.2 against 6.2 DN)
    rendered, other = _rendered(CUPS, clip), _rendered(CUPS, _clip(CUPS, "healthy"))
    assert len(rendered) == len(other) == len(decoded)
    err = np.mean([_coarse_diff(a, b) for a, b in zip(decoded, rendered, strict=True)])
    err_other = np.mean([_coarse_diff(a, b) for a, b in zip(decoded, other, strict=True)])
    assert err < 0.5 * err_other, (err, err_other)


def _coarse_diff(a: np.ndarray, b: np.ndarray) -> float:
    def small(x: np.ndarray) -> np.ndarray:
        return cv2.resize(x, (SIZE[0] // 4, SIZE[1] // 4), interpolation=cv2.INTER_AREA).astype(np.float64)

    return float(np.abs(small(a) - small(b)).mean())


@pytest.mark.parametrize(("scene", "role"), ((CUPS, "change"), (CUPS, "lamp"), (MIXED, "verify-change")))
def test_written_clip_reads_back_through_the_agent_source(
    tmp_path: Path, scene: CorpusScene, role: str
) -> None:
    clip = _clip(scene, role)
    uri = write_clip(scene, clip, tmp_path)
    times, images = _read(uri)
    assert len(times) == clip.frames
    # stream time is the source rate's: the agent paces, samples and dates events by it
    assert times == pytest.approx(np.arange(clip.frames) / clip.fps, abs=1e-6 * clip.frames / clip.fps)
    assert {im.shape for im in images} == {(SIZE[1], SIZE[0], 3)}


def test_lamp_clip_is_a_png_folder_in_every_scene(tmp_path: Path) -> None:
    for scene in CORPUS:
        lamp = _clip(scene, "lamp")
        assert clip_format(scene, lamp) == "png"
    clip = _clip(CUPS, "lamp")  # an mp4v scene
    uri = write_clip(CUPS, clip, tmp_path)
    assert uri.startswith(f"dir:{tmp_path / clip.name}?fps=0.01666666667&pattern=*.png")
    assert len(list((tmp_path / clip.name).glob("*.png"))) == clip.frames


def test_png_scene_long_healthy_stream_is_a_5fps_render(tmp_path: Path) -> None:
    static = replace(CORPUS[3], size=SIZE)  # PNG at 30 fps
    clip = _clip(static, "healthy")
    assert (clip_format(static, clip), clip_format(CUPS, _clip(CUPS, "healthy"))) == ("synthetic", "mp4v")
    uri = write_clip(static, clip, tmp_path)
    assert uri == f"synthetic:stationary?scene=static&seed={clip.seed}&fps=5&size=160x96&frames=10"
    assert list(tmp_path.iterdir()) == []  # nothing written
    times, images = _read(uri)
    # the analysed frames of the full-rate clip: healthy_frames of them, 0.2 s apart over the clip's stream time
    assert len(times) == TINY.healthy_frames
    assert times == pytest.approx(np.arange(TINY.healthy_frames) * 0.2)
    assert times[-1] < clip.frames / clip.fps
    assert {im.shape for im in images} == {(SIZE[1], SIZE[0], 3)}


def test_remove_clip_deletes_what_write_clip_wrote(tmp_path: Path) -> None:
    uris = [
        write_clip(CUPS, _clip(CUPS, "verify-healthy"), tmp_path),
        write_clip(MIXED, _clip(MIXED, "verify-healthy"), tmp_path),
    ]
    assert len(list(tmp_path.iterdir())) == 2
    for uri in uris:
        remove_clip(uri)
        remove_clip(uri)  # already gone: no error
    assert list(tmp_path.iterdir()) == []
    remove_clip(write_clip(MIXED, _clip(MIXED, "healthy"), tmp_path))  # synthetic: nothing to delete


def test_first_affected_is_the_onset_of_a_gain_step_and_the_end_of_a_healthy_clip() -> None:
    change = _clip(CUPS, "change")
    assert change.onset == 30 and first_affected(CUPS, change) == 30
    assert first_affected(CUPS, _clip(CUPS, "verify-change")) == 0
    healthy = _clip(CUPS, "healthy")
    assert first_affected(CUPS, healthy) == healthy.frames
    # and the rendered clip agrees: healthy up to the onset, changed from it
    rendered = _rendered(CUPS, change)
    same_seed = _rendered(CUPS, change._replace(scenario="stationary", onset=None))
    assert np.array_equal(rendered[29], same_seed[29]) and not np.array_equal(rendered[30], same_seed[30])


def test_first_affected_waits_for_a_new_product_to_come_into_view() -> None:
    settings = replace(TINY, changes=("new_product",), lead_s=1.0, watch_s=3.0)
    clip = _clip(CUPS, "change", settings)
    first = first_affected(CUPS, clip)
    assert clip.onset < first < clip.frames
    rendered = _rendered(CUPS, clip)
    healthy = _rendered(CUPS, clip._replace(scenario="stationary", onset=None))
    assert all(np.array_equal(rendered[i], healthy[i]) for i in range(first))
    assert not np.array_equal(rendered[first], healthy[first])
    # nothing differs within limit_s of the onset: the clip's end
    assert first_affected(CUPS, clip, limit_s=(first - clip.onset - 1) / clip.fps) == clip.frames
    assert first_affected(CUPS, clip, limit_s=(first - clip.onset + 1) / clip.fps) == first
