"""Plain words for what the agent measures and concludes, for people who do not read ``psi.*`` or ``|z|``.

:func:`statistic_words` names a statistic ("colour balance red/green" for ``shift.rg``, "slow drift of
brightness" for ``cusum.brightness``); :data:`CAUSE_WORDS` names a cause code. Both fall back to the id itself,
so a statistic or cause added later still reads as something.
"""

from __future__ import annotations

_SCALAR_WORDS = {
    "brightness": "brightness",
    "contrast": "contrast",
    "sharpness": "sharpness",
    "noise": "noise",
    "rg": "colour balance red/green",
    "bg": "colour balance blue/green",
    "under_exposed": "dark pixels (under-exposed)",
    "over_exposed": "bright pixels (over-exposed)",
}
_HISTOGRAM_WORDS = {"luma": "brightness histogram"}
_OTHER_WORDS = {
    "grid.sharpness": "local sharpness (a part of the image)",
    "displacement": "image position",
    "out.class_mix": "predicted-class mix",
    "out.confidence": "model confidence",
    "out.uncertain": "share of uncertain predictions",
    "out.detections": "detections per frame",
}

CAUSE_WORDS = {
    "lighting": "lighting",
    "gamma": "tone curve (gamma)",
    "white_balance": "white balance / colour of the light",
    "defocus": "defocus or dirty lens",
    "smudge": "smudge on part of the lens",
    "noise": "sensor noise / gain",
    "camera_moved": "camera moved",
    "content": "content changed (new product?)",
    "model_outputs": "the model's outputs changed",
}


def _scalar(name: str) -> str:
    if name.startswith("luma_p") and name[6:].isdigit():
        return f"brightness, {int(name[6:])}th percentile"
    return _SCALAR_WORDS.get(name, name.replace("_", " "))


def statistic_words(name: str) -> str:
    """Plain words for the statistic ``name`` (an id as in events and the state, e.g. ``psi.red``)."""
    kind, _, rest = name.partition(".")
    if name in _OTHER_WORDS:
        return _OTHER_WORDS[name]
    if kind == "psi":
        return _HISTOGRAM_WORDS.get(rest, f"{rest} histogram")
    if kind == "shift":
        return _scalar(rest)
    if kind == "cusum":
        return f"slow drift of {_scalar(rest)}"
    if kind == "act":
        return f"model activations ({rest.replace('_', ' ')})"
    return name


def cause_words(code: str | None) -> str:
    """Plain words for a cause code ("-" for none)."""
    if not code:
        return "-"
    return CAUSE_WORDS.get(code, code.replace("_", " "))
