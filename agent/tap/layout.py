"""Layout of a frame-tap segment, shared by the producer and the reader (see ``camdrift.agent.tap``).

One file: a 4096-byte control page of 8-byte little-endian words, then the frame slot and the flag slot, each
``capacity`` bytes (a multiple of 4096). A slot holds the image (C order) and, each 64-byte aligned after the
previous part, an optional float32 activations block, an optional float32 model-outputs block
(:func:`camdrift.agent.predictions.outputs.pack`) and, in the flag slot, the flag's note as UTF-8 JSON
(:func:`camdrift.agent.predictions.flags.note_json`). Bump ``LAYOUT_VERSION`` on any change: a reader refuses
other versions (version 2 added the outputs block and the note).
"""

from __future__ import annotations

import mmap
import os
import re

MAGIC = int.from_bytes(b"CAMDTAP\x00", "little")
LAYOUT_VERSION = 2
PAGE = 4096
ALIGN = 64

# Control page, as 8-byte word indices. The reader-written words sit on their own cache line (index 8..15).
W_MAGIC, W_VERSION, W_HEADER, W_PID, W_GENERATION, W_CAPACITY, W_RETIRED = range(7)
W_WANT = 8  # reader: request counter; the producer serves a frame when it differs from the last one served
W_FLAG_TAKEN = 9  # reader: flag count it has consumed, so a restarted reader does not take a flag twice
SLOT_WORDS = (16, 48)  # word index of the frame slot header and of the flag slot header
FRAME, FLAG = 0, 1
# Slot header, word offsets from the slot's first word.
S_SEQ, S_COUNT, S_INDEX, S_TS, S_FORMAT, S_DTYPE, S_NDIM = range(7)
S_SHAPE = 7  # 4 words
S_NBYTES, S_ACTS, S_REASON_LEN = 11, 12, 13
S_OUT_KIND, S_OUT_COUNT = 14, 15  # outputs block: kind (0 none) and entries (classes or detections)
S_REASON = 16  # 8 words: up to 64 bytes of UTF-8
S_NOTE_LEN = 24  # bytes of the flag's note (JSON) after the outputs block
REASON_MAX_BYTES = 64
MAX_NDIM = 4

NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")


def segment_path(name: str, directory: str = "/dev/shm") -> str:
    """Path of the segment of tap ``name`` (letters, digits, ``_.-``; 1..100 characters)."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise ValueError(f"tap name must be 1..100 characters of letters, digits and _.- , got {name!r}")
    return os.path.join(directory, f"camdrift-tap.{name}")


def ascii_word(text: str) -> int:
    return int.from_bytes(text.encode("ascii")[:8].ljust(8, b"\0"), "little")


def word_ascii(word: int) -> str:
    return word.to_bytes(8, "little").rstrip(b"\0").decode("ascii", errors="replace")


def round_up(n: int, to: int) -> int:
    return -(-n // to) * to


def slot_parts(nbytes: int, n_acts: int, n_out_floats: int, note_len: int) -> tuple[int, int, int, int]:
    """Byte offsets in a slot of the activations block, the outputs block and the note, and the bytes the
    slot needs: every part 64-byte aligned after the image of ``nbytes``."""
    acts = round_up(nbytes, ALIGN)
    outputs = round_up(acts + 4 * n_acts, ALIGN)
    note = round_up(outputs + 4 * n_out_floats, ALIGN)
    return acts, outputs, note, note + note_len


class Segment:
    """A mapped segment file: word (u64), float (f64) and byte views of its control page."""

    def __init__(self, mm: mmap.mmap, ino: tuple[int, int]) -> None:
        self.mm = mm
        self.ino = ino
        self.words = memoryview(mm)[:PAGE].cast("Q")
        self.floats = memoryview(mm)[:PAGE].cast("d")
        self.bytes = memoryview(mm)[:PAGE]
        self.capacity = self.words[W_CAPACITY]

    def data_offset(self, slot: int) -> int:
        return PAGE + slot * self.capacity

    def close(self) -> None:
        for view in (self.words, self.floats, self.bytes):
            view.release()
        self.mm.close()
