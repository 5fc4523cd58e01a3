"""Frame sources: ``open_source(uri)`` builds one, ``ReopeningSource`` keeps it running.

One module per kind: ``video`` (OpenCV VideoCapture: files, RTSP, HTTP MJPEG, V4L2), ``folder`` (image
folders), ``synthetic`` (drift scenarios); the frame tap's reader lives in ``camdrift.agent.tap``.
"""

from camdrift.agent.sources.folder import FolderSource
from camdrift.agent.sources.reopen import ReopeningSource
from camdrift.agent.sources.synthetic import SyntheticSource
from camdrift.agent.sources.uri import SCHEMES, open_source
from camdrift.agent.sources.video import VideoSource

__all__ = ["SCHEMES", "FolderSource", "ReopeningSource", "SyntheticSource", "VideoSource", "open_source"]
