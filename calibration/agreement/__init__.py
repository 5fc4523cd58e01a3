"""camdrift.calibration.agreement: how far annotators agree on labels, and where they do not.

``load_labels`` reads CSV / JSON lines / COCO into a ``LabelSet``; ``analyse`` turns it into an
``AgreementReport`` (``to_json`` / ``summary_text``). The statistics themselves live in ``kappa`` (nominal
labels), ``boxes`` (detections) and ``timeline`` (agreement over time); ``command`` is the CLI.
"""

from camdrift.calibration.agreement.analysis import analyse
from camdrift.calibration.agreement.labels import Annotation, Box, LabelError, LabelSet, load_labels
from camdrift.calibration.agreement.report import AgreementReport, summary_text, to_json

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
