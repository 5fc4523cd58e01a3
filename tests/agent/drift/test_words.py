"""Plain words for statistics and causes: every statistic the engine has reads as words, not its id, and an id
nobody mapped still reads as something."""

from __future__ import annotations

from camdrift.agent.drift.features import SCALARS
from camdrift.agent.drift.statistics import statistic_names
from camdrift.agent.drift.words import CAUSE_WORDS, cause_words, statistic_words


def test_every_engine_statistic_has_plain_words():
    names = [*statistic_names(SCALARS), *(f"cusum.{s}" for s in SCALARS)]
    words = [statistic_words(n) for n in names]
    assert all(w != n and "." not in w and "_" not in w for n, w in zip(names, words, strict=True))
    assert len(set(words)) == len(words)  # no two statistics read the same
    assert statistic_words("shift.rg") == "colour balance red/green"
    assert statistic_words("shift.luma_p10") == "brightness, 10th percentile"
    assert statistic_words("cusum.brightness") == "slow drift of brightness"
    assert statistic_words("psi.luma") == "brightness histogram"


def test_causes_and_unknown_ids():
    assert cause_words("defocus") == "defocus or dirty lens" and cause_words(None) == "-"
    assert cause_words("lens_fog") == "lens fog" and statistic_words("new.thing") == "new.thing"
    assert set(CAUSE_WORDS) >= {
        "lighting",
        "gamma",
        "white_balance",
        "defocus",
        "smudge",
        "noise",
        "camera_moved",
        "content",
    }
