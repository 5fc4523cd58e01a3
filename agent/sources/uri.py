"""``open_source(uri)``: the frame source a ``source.uri`` names. Errors name the part of the URI that is wrong.

=====================================================  ===========================================================
``shm:NAME[?check_pid=0]``                             frame tap of the inference app (``camdrift.agent.tap``)
``video:PATH``                                         video file, replayed as fast as possible, ends at EOF
``rtsp://...``, ``rtsps://...``                        network camera stream (OpenCV/FFmpeg)
``http://...``, ``https://...``                        MJPEG over HTTP(S) (OpenCV/FFmpeg)
``v4l2:/dev/videoN``                                   V4L2 device
``dir:PATH[?fps=5&pattern=*.png&watch=1&size=WxH]``    image folder, sorted names (``camdrift.agent.sources.folder``)
``synthetic:NAME[?scene=cups&seed=0&fps=5&size=...]``  rendered drift scenario (``camdrift.agent.sim.scenarios``)
=====================================================  ===========================================================
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

import cv2

from camdrift.agent.sources.base import FrameSource
from camdrift.agent.sources.folder import FolderSource
from camdrift.agent.sources.synthetic import SyntheticSource
from camdrift.agent.sources.video import VideoSource
from camdrift.agent.tap import TapReader

SCHEMES = ("shm:", "video:", "rtsp://", "rtsps://", "http://", "https://", "v4l2:", "dir:", "synthetic:")
# Recordings, replayed as fast as the machine allows: they end, and one that cannot be opened stays so.
REPLAY_SCHEMES = ("video:", "dir:", "synthetic:")


def is_replay(uri: str) -> bool:
    """Whether ``uri`` names a recording (a video file, an image folder, a scenario) rather than a live feed."""
    return uri.startswith(REPLAY_SCHEMES)


def _split_query(uri: str, rest: str, known: tuple[str, ...]) -> tuple[str, dict[str, str]]:
    head, sep, query = rest.partition("?")
    params: dict[str, str] = {}
    if sep:
        for key, value in parse_qsl(query, keep_blank_values=True, strict_parsing=False):
            if key not in known:
                allowed = ", ".join(known) if known else "none"
                raise ValueError(f"source URI {uri!r}: unknown parameter {key!r} (allowed: {allowed})")
            params[key] = value
        if not params and query:
            raise ValueError(f"source URI {uri!r}: cannot read the query {query!r} (want key=value&...)")
    return head, params


def _number(uri: str, key: str, value: str, *, integer: bool = False, minimum: float = 0.0) -> float | int:
    try:
        number = int(value) if integer else float(value)
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise ValueError(f"source URI {uri!r}: {key} must be {kind}, got {value!r}") from None
    too_small = number < minimum if integer else not number > minimum  # integers: >= minimum, floats: >
    if not integer and not too_small and not 1e-3 <= number <= 1e6:  # inf, 1e-9 fps, 5e-324 s: no rate
        raise ValueError(
            f"source URI {uri!r}: {key} must be a finite number in [0.001, 1e+06], got {value!r}"
        )
    if too_small:
        bound = f">= {minimum:g}" if integer else f"> {minimum:g}"
        raise ValueError(f"source URI {uri!r}: {key} must be {bound}, got {value!r}")
    return number


def _flag(uri: str, key: str, value: str) -> bool:
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"source URI {uri!r}: {key} must be 0 or 1, got {value!r}")


def _size(uri: str, key: str, value: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d{1,5})x(\d{1,5})", value)
    if not m or int(m.group(1)) < 1 or int(m.group(2)) < 1:
        raise ValueError(f"source URI {uri!r}: {key} must be WIDTHxHEIGHT in pixels, got {value!r}")
    return int(m.group(1)), int(m.group(2))


def open_source(uri: str, *, pixel_format: str = "bgr8", take_flags: bool = True) -> FrameSource:
    """The (not yet opened) source named by ``uri``; wrap it in a ``ReopeningSource`` to run it.

    pixel_format: the format frames must arrive in. Tap frames are checked against it (the producer declares
    its own); OpenCV sources convert to it (bgr8, rgb8 or gray8; folders also gray16 from 16-bit files).
    take_flags: a tap source takes the app's flagged frames (False for a tool beside the agent: TapReader).
    Raises ValueError naming the wrong part of ``uri``.
    """
    if not isinstance(uri, str) or not uri.strip():
        raise ValueError(f"source URI must be a non-empty string, got {uri!r}")
    scheme = next((s for s in SCHEMES if uri.startswith(s)), None)
    if scheme is None:
        raise ValueError(f"source URI {uri!r}: unknown scheme (use one of {', '.join(SCHEMES)})")
    rest = uri[len(scheme) :]
    if scheme == "shm:":
        name, params = _split_query(uri, rest, ("check_pid",))
        try:
            TapReader(name)  # validates the name
        except ValueError as exc:
            raise ValueError(f"source URI {uri!r}: {exc}") from None
        check_pid = _flag(uri, "check_pid", params.get("check_pid", "1"))
        return TapReader(name, pixel_format=pixel_format, check_pid=check_pid, take_flags=take_flags)
    if scheme in ("rtsp://", "rtsps://", "http://", "https://"):
        if not rest or rest.startswith("/"):
            raise ValueError(f"source URI {uri!r}: no host after {scheme}")
        return VideoSource(uri, label=uri, live=True, api=cv2.CAP_FFMPEG, pixel_format=pixel_format)
    if scheme == "video:":
        if not rest:
            raise ValueError(f"source URI {uri!r}: no file path after video:")
        return VideoSource(rest, label=uri, live=False, api=cv2.CAP_FFMPEG, pixel_format=pixel_format)
    if scheme == "v4l2:":
        if not re.fullmatch(r"/dev/[\w./-]+", rest):
            raise ValueError(
                f"source URI {uri!r}: v4l2: needs a device path such as /dev/video0, got {rest!r}"
            )
        return VideoSource(rest, label=uri, live=True, api=cv2.CAP_V4L2, pixel_format=pixel_format)
    if scheme == "dir:":
        path, params = _split_query(uri, rest, ("fps", "pattern", "watch", "size", "poll"))
        if not path:
            raise ValueError(f"source URI {uri!r}: no folder path after dir:")
        return FolderSource(
            path,
            fps=_number(uri, "fps", params.get("fps", "5")),
            pattern=params.get("pattern") or None,
            watch=_flag(uri, "watch", params.get("watch", "0")),
            size=_size(uri, "size", params["size"]) if "size" in params else None,
            poll=_number(uri, "poll", params.get("poll", "0.5")),
            pixel_format=pixel_format,
        )
    name, params = _split_query(uri, rest, ("scene", "seed", "fps", "size", "frames"))
    if not name:
        raise ValueError(f"source URI {uri!r}: no scenario name after synthetic:")
    scene = params.get("scene", "cups")
    _check_scene(uri, scene)
    return SyntheticSource(
        name,
        seed=int(_number(uri, "seed", params.get("seed", "0"), integer=True, minimum=0)),
        fps=_number(uri, "fps", params["fps"]) if "fps" in params else None,
        size=_size(uri, "size", params.get("size", "320x240")),
        frames=int(_number(uri, "frames", params["frames"], integer=True, minimum=0))
        if "frames" in params
        else None,
        pixel_format=pixel_format,
        scene=scene,
    )


def _check_scene(uri: str, scene: str) -> None:
    from camdrift.agent.sim.scenes import SCENES  # the renderer loads only when a synthetic source is named

    if scene not in SCENES:
        raise ValueError(f"source URI {uri!r}: scene must be one of {', '.join(SCENES)}, got {scene!r}")
