"""Producer side of the frame tap: :class:`FrameTap`, imported by the inference app (numpy + stdlib only)."""

from __future__ import annotations

import grp
import logging
import math
import mmap
import os
import time

import numpy as np

from camdrift.agent.frames import PIXEL_FORMATS
from camdrift.agent.predictions.flags import FlagNote, flag_note, note_json
from camdrift.agent.predictions.outputs import ModelOutputs, model_outputs, pack
from camdrift.agent.tap.layout import (
    FLAG,
    FRAME,
    LAYOUT_VERSION,
    MAGIC,
    MAX_NDIM,
    PAGE,
    REASON_MAX_BYTES,
    S_ACTS,
    S_COUNT,
    S_DTYPE,
    S_FORMAT,
    S_INDEX,
    S_NBYTES,
    S_NDIM,
    S_NOTE_LEN,
    S_OUT_COUNT,
    S_OUT_KIND,
    S_REASON,
    S_REASON_LEN,
    S_SEQ,
    S_SHAPE,
    S_TS,
    SLOT_WORDS,
    W_CAPACITY,
    W_GENERATION,
    W_HEADER,
    W_MAGIC,
    W_PID,
    W_RETIRED,
    W_VERSION,
    W_WANT,
    Segment,
    ascii_word,
    round_up,
    segment_path,
    slot_parts,
)

log = logging.getLogger(__name__)

# offer() checks every 256th call that its segment still exists (a tmp cleaner or RemoveIPC may delete it).
_CHECK_MASK = 255


def _stamp(ts: object) -> float:
    """A frame's timestamp as given: finite seconds, else TypeError/ValueError naming ``ts``."""
    if isinstance(ts, bool) or not isinstance(ts, int | float | np.integer | np.floating):
        raise TypeError(f"ts must be a number of seconds, got {type(ts).__name__}")
    if not math.isfinite(ts):
        raise ValueError(f"ts must be a finite number of seconds, got {ts!r}")
    return float(ts)


class TapGroupError(PermissionError):
    """The tap's ``group`` is one this process may not give its segment to (it is not a member)."""


def _group_error(group: str | int) -> TapGroupError:
    return TapGroupError(
        f"FrameTap: this process (uid {os.geteuid()}) is not in group {group!r}, so it cannot give the tap "
        f"segment to it: add the app's user to the group (usermod -aG {group} <app user>) and start the app "
        "again in a new login session, or pass group=None and give the agent's user access another way"
    )


def _resolve_group(group: str | int | None) -> int:
    """The gid to chown the segment to (-1: keep ours); refuses a group this process is not in, up front."""
    if group is None:
        return -1
    if isinstance(group, int) and not isinstance(group, bool):
        gid = group
    else:
        try:
            gid = grp.getgrnam(group).gr_gid
        except KeyError:
            raise ValueError(f"group {group!r} does not exist on this host") from None
    if os.geteuid() != 0 and gid != os.getegid() and gid not in os.getgroups():
        raise _group_error(group)
    return gid


class FrameTap:
    """Producer side of a frame tap (protocol: see ``camdrift.agent.tap``); one per camera stream in the app.

    name: tap name; the segment is ``{directory}/camdrift-tap.{name}``.
    pixel_format: format of the frames the app offers (one of bgr8, rgb8, gray8, gray16, nv12).
    capacity: bytes of each data slot to allocate up front (rounded up to 4096); a larger frame later makes
        the tap build a bigger segment once, inside that ``offer()``. Give the frame size to keep that off
        the app's hot path: ``capacity=1080 * 1920 * 3``.
    mode: permission bits of the segment (default 0o660: owner and group read-write).
    group: group name or gid to chown the segment to (the agent's service user must be in it); None keeps the
        creating process's group.
    """

    def __init__(
        self,
        name: str,
        *,
        pixel_format: str = "bgr8",
        capacity: int = 0,
        mode: int = 0o660,
        group: str | int | None = None,
        directory: str = "/dev/shm",
    ) -> None:
        self.path = segment_path(name, directory)
        if pixel_format not in PIXEL_FORMATS:
            raise ValueError(f"pixel_format must be one of {', '.join(PIXEL_FORMATS)}, got {pixel_format!r}")
        if isinstance(mode, bool) or not isinstance(mode, int) or not 0 <= mode <= 0o777:
            raise ValueError(f"mode must be permission bits in 0o000..0o777, got {mode!r}")
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 0:
            raise ValueError(f"capacity must be a byte count >= 0, got {capacity!r}")
        self.pixel_format = pixel_format
        self.mode = mode
        self._gid = _resolve_group(group)
        self._format_word = ascii_word(pixel_format)
        self._served = 0  # last value of the want word served
        self.offers = 0  # offer() calls since the tap started: the frame_index of the frames the agent takes
        self.frames_copied = 0
        self.flags = 0
        self.errors = 0  # frames dropped because the segment could not be (re)made
        self.recreated = 0  # segments rebuilt because ours had been deleted from under us
        self._seg: Segment | None = None
        self._seg = self._create(capacity)

    # -- hot path --------------------------------------------------------------------------------------------

    def offer(
        self,
        frame: np.ndarray,
        ts: float | None = None,
        activations: np.ndarray | None = None,
        outputs: ModelOutputs | dict | None = None,
    ) -> bool:
        """Hands ``frame`` to the agent if it asked for one; returns whether it was copied. Never waits.

        frame: an image in the tap's pixel format (checked by the agent, not here, to keep this path short).
        ts: the frame's timestamp in seconds (default: ``time.time()`` when copied).
        activations: optional float32 vector of model activations, copied after the image.
        outputs: optional model outputs of this frame (:class:`~camdrift.agent.predictions.outputs.ModelOutputs`
            or a mapping with ``probs``, or ``label`` and ``confidence``, or ``boxes``, ``classes``, ``scores``);
            checked only when the frame is copied (ValueError names the field).
        """
        self.offers += 1
        if not self.offers & _CHECK_MASK:
            self._check_path()
        want = self._seg.words[W_WANT]
        if want == self._served:
            return False
        out = None if outputs is None else model_outputs(outputs)
        seg = self._seg
        written = self._write(FRAME, frame, ts, (activations, out, None))
        # served once nothing raised (a wrong frame leaves the agent's request open for the next offer), and
        # not on a segment the write grew: nothing is served there until the agent, reattached, asks it
        if self._seg is seg:
            self._served = want
        self.frames_copied += written
        return written

    def flag(
        self,
        frame: np.ndarray,
        reason: str,
        ts: float | None = None,
        *,
        frame_id: str | int | None = None,
        prediction: str | int | None = None,
        corrected: str | int | None = None,
        outputs: ModelOutputs | dict | None = None,
    ) -> bool:
        """Marks ``frame`` as a production failure for capture (always copied; the latest flag wins).

        reason: ``false_positive``, ``false_negative``, ``uncertain``, ``operator_corrected`` or free text (the
            first 64 bytes also go in the slot header, for readers of layout 1's habits); frame_id: the app's
            own id of the frame; prediction: what the model said, as the app names it; corrected: the label an
            operator gave instead (needed with ``operator_corrected``); outputs: the model's outputs, as for
            :meth:`offer`. ValueError names a wrong field.
        """
        if not isinstance(reason, str):
            raise TypeError(f"reason must be a str, got {type(reason).__name__}")
        note = flag_note(reason, frame_id, prediction, corrected)
        out = None if outputs is None else model_outputs(outputs)
        self.flags += 1
        return self._write(FLAG, frame, ts, (None, out, note))

    # -- segment management ----------------------------------------------------------------------------------

    def _create(self, capacity: int) -> Segment:
        """Builds a fresh segment under a temporary name and renames it over the tap's path (atomic)."""
        capacity = max(PAGE, round_up(capacity, PAGE))
        size = PAGE + 2 * capacity
        tmp = f"{self.path}.{os.getpid()}.tmp"
        try:
            os.unlink(tmp)  # left by a crashed earlier process that had our pid
        except FileNotFoundError:
            pass
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, self.mode)
        try:
            os.fchmod(fd, self.mode)  # the umask applied to os.open must not weaken or widen the chosen mode
            if self._gid >= 0:
                try:
                    os.fchown(fd, -1, self._gid)
                except PermissionError:
                    raise _group_error(self._gid) from None
            os.ftruncate(fd, size)
            mm = mmap.mmap(fd, size)
            st = os.fstat(fd)
        except BaseException:
            os.close(fd)
            os.unlink(tmp)
            raise
        os.close(fd)
        # Touch every page now so the first copied frame does not pay tmpfs page faults on the app's thread.
        np.frombuffer(mm, np.uint8)[PAGE:] = 0
        seg = Segment(mm, (st.st_dev, st.st_ino))
        w = seg.words
        w[W_VERSION] = LAYOUT_VERSION
        w[W_HEADER] = PAGE
        w[W_PID] = os.getpid()
        w[W_GENERATION] = time.time_ns()
        w[W_CAPACITY] = capacity
        seg.capacity = capacity
        w[W_MAGIC] = MAGIC  # last: a reader that maps a half-built file sees no magic
        os.rename(tmp, self.path)
        if self._seg is not None:
            self._seg.words[W_RETIRED] = 1
            self._seg.close()
        self._served = 0
        log.debug("tap %s: new segment, capacity %d bytes", self.path, capacity)
        return seg

    def _check_path(self) -> None:
        """Rebuilds the segment if its file was deleted (not if another producer replaced it: never fight)."""
        if os.path.exists(self.path):
            return
        try:
            self._seg = self._create(self._seg.capacity)
            self.recreated += 1
            log.warning("tap %s: the segment had been deleted; made a new one", self.path)
        except OSError as exc:
            self.errors += 1
            log.warning("tap %s: the segment was deleted and cannot be made again: %s", self.path, exc)

    def _write(
        self,
        slot: int,
        frame: np.ndarray,
        ts: float | None,
        extras: tuple[np.ndarray | None, ModelOutputs | None, FlagNote | None],
    ) -> bool:
        """Copies ``frame`` and its ``extras`` (activations, outputs, flag note) into ``slot`` under the seqlock;
        False if a needed bigger segment cannot be made."""
        if not isinstance(frame, np.ndarray):
            raise TypeError(f"frame must be a numpy array, got {type(frame).__name__}")
        if frame.dtype.hasobject or frame.dtype.itemsize == 0 or not 1 <= frame.ndim <= MAX_NDIM:
            raise TypeError(f"frame must be a 1..4-d array of plain numbers, got {frame.dtype} {frame.shape}")
        activations, outputs, note = extras
        stamp = time.time() if ts is None else _stamp(ts)
        acts = (
            None if activations is None else np.ascontiguousarray(activations, dtype=np.float32).reshape(-1)
        )
        out_kind, out_count, out_block = (0, 0, None) if outputs is None else pack(outputs)
        note_raw = b"" if note is None else note_json(note)
        act_offset, out_offset, note_offset, need = slot_parts(
            frame.nbytes,
            0 if acts is None else acts.size,
            0 if out_block is None else out_block.size,
            len(note_raw),
        )
        if need > self._seg.capacity:
            try:
                self._seg = self._create(need)
            except OSError as exc:  # e.g. /dev/shm full: drop this frame, never break the app's loop
                self.errors += 1
                log.warning("tap %s: cannot grow the segment to %d bytes: %s", self.path, need, exc)
                return False
        seg = self._seg
        w = seg.words
        base = SLOT_WORDS[slot]
        data = seg.data_offset(slot)
        seq = w[base + S_SEQ]
        w[base + S_SEQ] = seq + 1  # odd: writing
        # a flag names the frame the app last offered (the one it just ran its model on): its frame_index is
        # that frame's, so flagged and analysed frames share one index; the app's own id travels in the note
        w[base + S_INDEX] = max(self.offers - 1, 0)
        seg.floats[base + S_TS] = stamp
        w[base + S_FORMAT] = self._format_word
        w[base + S_DTYPE] = ascii_word(frame.dtype.str)
        w[base + S_NDIM] = frame.ndim
        for i in range(MAX_NDIM):
            w[base + S_SHAPE + i] = frame.shape[i] if i < frame.ndim else 0
        w[base + S_NBYTES] = frame.nbytes
        w[base + S_ACTS] = 0 if acts is None else acts.size
        w[base + S_OUT_KIND] = out_kind
        w[base + S_OUT_COUNT] = out_count
        w[base + S_NOTE_LEN] = len(note_raw)
        np.copyto(np.ndarray(frame.shape, frame.dtype, buffer=seg.mm, offset=data), frame, casting="no")
        if acts is not None:
            np.ndarray(acts.shape, np.float32, buffer=seg.mm, offset=data + act_offset)[:] = acts
        if out_block is not None:
            np.ndarray(out_block.shape, np.float32, buffer=seg.mm, offset=data + out_offset)[:] = out_block
        if note is not None:
            seg.mm[data + note_offset : data + note_offset + len(note_raw)] = note_raw
            raw = note.reason.encode("utf-8")[:REASON_MAX_BYTES]
            raw = raw.decode("utf-8", errors="ignore").encode("utf-8")  # whole characters only
            start = (base + S_REASON) * 8
            seg.bytes[start : start + len(raw)] = raw
            w[base + S_REASON_LEN] = len(raw)
        w[base + S_COUNT] = w[base + S_COUNT] + 1
        w[base + S_SEQ] = seq + 2  # even: done
        return True

    def close(self) -> None:
        """Retires the segment and removes it (unless a newer producer already replaced it)."""
        seg, self._seg = self._seg, None
        if seg is None:
            return
        seg.words[W_RETIRED] = 1
        try:
            st = os.stat(self.path)
            if (st.st_dev, st.st_ino) == seg.ino:
                os.unlink(self.path)
        except FileNotFoundError:
            pass
        seg.close()

    def __enter__(self) -> FrameTap:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
