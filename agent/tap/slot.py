"""Reading the parts of a tap slot after its image: activations, model outputs and the flag's note (layout:
:func:`camdrift.agent.tap.layout.slot_parts`). The reader copies the bytes under its seqlock with
:func:`copy_extras` and checks them afterwards with :func:`decode_extras`, so a torn copy is never parsed."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from camdrift.agent.predictions.flags import NOTE_MAX_BYTES, FlagNote, flag_note, note_from_json
from camdrift.agent.predictions.outputs import ModelOutputs, block_floats, unpack
from camdrift.agent.tap.layout import (
    MAX_NDIM,
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
    S_SHAPE,
    S_TS,
    Segment,
    slot_parts,
    word_ascii,
)


def header_reason(seg: Segment, base: int) -> str:
    """The reason text the producer wrote into the flag slot at word ``base`` (bounded, UTF-8, lenient)."""
    start = (base + S_REASON) * 8
    length = min(seg.words[base + S_REASON_LEN], REASON_MAX_BYTES)
    return bytes(seg.bytes[start : start + length]).decode("utf-8", errors="ignore")


def slot_dtype(text: str) -> np.dtype | None:
    """The dtype a slot header names, or None when it names none."""
    try:
        return np.dtype(text)
    except (TypeError, ValueError):
        return None


class SlotExtras(NamedTuple):
    """What a slot header says follows the image: activations (float32 count), outputs kind and entries, and
    the note's bytes; :meth:`need` is the slot bytes it all takes (None when a count is out of range)."""

    n_acts: int
    out_kind: int
    out_count: int
    note_len: int

    def out_floats(self) -> int:
        return 0 if self.out_kind == 0 else block_floats(self.out_kind, self.out_count)

    def need(self, nbytes: int) -> int | None:
        floats = self.out_floats()
        if floats < 0 or self.note_len > NOTE_MAX_BYTES:
            return None
        return slot_parts(nbytes, self.n_acts, floats, self.note_len)[3]


class SlotHeader(NamedTuple):
    """A slot header as read (not yet trusted: the seqlock decides): its counters, the image's timestamp (s),
    format, dtype and shape, the extras, the flag's header reason (None for the frame slot), and whether it
    all fits the segment (``sane``)."""

    count: int
    index: int
    ts: float
    fmt: str
    dtype: np.dtype | None
    shape: tuple[int, ...]
    nbytes: int
    extras: SlotExtras
    reason: str | None
    sane: bool


def read_header(seg: Segment, base: int, flag: bool) -> SlotHeader:
    """The header of the slot whose words start at ``base``; ``flag``: it is the flag slot."""
    w = seg.words
    ndim = w[base + S_NDIM]
    shape = tuple(w[base + S_SHAPE + i] for i in range(min(ndim, MAX_NDIM)))
    nbytes = w[base + S_NBYTES]
    dtype = slot_dtype(word_ascii(w[base + S_DTYPE]))
    extras = SlotExtras(w[base + S_ACTS], w[base + S_OUT_KIND], w[base + S_OUT_COUNT], w[base + S_NOTE_LEN])
    need = extras.need(nbytes)
    sane = (
        dtype is not None
        and not dtype.hasobject
        and dtype.itemsize > 0
        and 1 <= ndim <= MAX_NDIM
        and nbytes == int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        and need is not None
        and need <= seg.capacity
    )
    return SlotHeader(
        w[base + S_COUNT],
        int(w[base + S_INDEX]),
        float(seg.floats[base + S_TS]),
        word_ascii(w[base + S_FORMAT]),
        dtype,
        shape,
        nbytes,
        extras,
        header_reason(seg, base) if flag else None,
        sane,
    )


class RawSlot(NamedTuple):
    """Copies of a slot's parts, taken under the seqlock (None where absent)."""

    image: np.ndarray
    activations: np.ndarray | None
    outputs: np.ndarray | None
    note: bytes | None


def copy_slot(seg: Segment, data: int, head: SlotHeader) -> RawSlot:
    """Copies the image and the extra parts of a sane slot whose data starts at byte ``data`` of ``seg``."""
    extras, nbytes, buffer = head.extras, head.nbytes, seg.mm
    count = nbytes // head.dtype.itemsize
    image = np.frombuffer(buffer, head.dtype, count=count, offset=data).reshape(head.shape).copy()
    acts_at, out_at, note_at, _ = slot_parts(
        nbytes, extras.n_acts, max(extras.out_floats(), 0), extras.note_len
    )
    acts = None
    if extras.n_acts:
        acts = np.frombuffer(buffer, np.float32, count=extras.n_acts, offset=data + acts_at).copy()
    outputs = None
    if extras.out_kind:
        outputs = np.frombuffer(buffer, np.float32, count=extras.out_floats(), offset=data + out_at).copy()
    note = bytes(buffer[data + note_at : data + note_at + extras.note_len]) if extras.note_len else None
    return RawSlot(image, acts, outputs, note)


def decode_extras(
    raw: RawSlot, extras: SlotExtras, reason: str | None
) -> tuple[ModelOutputs | None, FlagNote | None]:
    """The outputs and, for the flag slot (``reason`` not None), the note; ValueError for parts that do not
    check (the reader counts the frame as corrupt)."""
    outputs = None if raw.outputs is None else unpack(extras.out_kind, extras.out_count, raw.outputs)
    if reason is None:
        return outputs, None
    if raw.note is not None:
        return outputs, note_from_json(raw.note)
    return outputs, flag_note(reason or "flagged")


__all__ = [
    "RawSlot",
    "SlotExtras",
    "SlotHeader",
    "copy_slot",
    "decode_extras",
    "header_reason",
    "read_header",
    "slot_dtype",
]
