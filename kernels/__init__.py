"""camdrift.kernels: numba kernels, pure functions over arrays (no I/O, no state).

Every public function checks its inputs and calls a private ``@njit(cache=True, nogil=True)`` kernel.
"""

from camdrift.kernels.frame_stats import PIXEL_FORMATS, FrameStats, Roi, frame_stats, touch_bytes

__all__ = ["PIXEL_FORMATS", "FrameStats", "Roi", "frame_stats", "touch_bytes"]
