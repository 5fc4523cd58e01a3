"""camdrift.calibration.agreement: how far annotators agree on labels, and where they do not.

``load_labels`` reads CSV / JSON lines / COCO / Label Studio JSON exports (label_studio.py) into a ``LabelSet``;
``analyse`` turns it into an ``AgreementReport`` (``to_json`` in report.py, ``summary_text`` in summary.py). The
statistics themselves live in ``kappa`` (nominal labels), ``boxes`` (detections), ``timeline`` (agreement over
time) and ``boundary`` (agreement on the boundary cases the team declared in a rules TOML, read by rules.py);
``command`` is the CLI.
"""

from camdrift.calibration.agreement.analysis import analyse
from camdrift.calibration.agreement.labels import Annotation, Box, LabelError, LabelSet, load_labels
from camdrift.calibration.agreement.report import AgreementReport, to_json
from camdrift.calibration.agreement.summary import summary_text

__all__ = [
    "AgreementReport",
    "Annotation",
    "Box",
    "LabelError",
    "LabelSet",
    "analyse",
    "load_labels",
    "summary_text",
    "to_json",
]
