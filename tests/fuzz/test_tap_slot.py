"""Fuzzing what the agent parses from the frame tap's flag and frame slots besides the image: the outputs block
and the flag's note, written by a producer the agent does not control. Every outcome is a frame whose outputs
and note check, or a frame counted as rejected: no other exception, no hang."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from camdrift.agent.predictions.outputs import ModelOutputs
from camdrift.agent.tap import FrameTap, TapReader
from camdrift.agent.tap.layout import FLAG, S_COUNT, S_NOTE_LEN, S_OUT_COUNT, S_OUT_KIND, SLOT_WORDS
from camdrift.agent.tap.slot import read_header
from tests.fuzz.support import fuzz_settings, no_hang

WORDS = st.one_of(st.integers(0, 8), st.integers(0, 2**63), st.sampled_from([4096, 4097, 2**32, 2**64 - 1]))


@fuzz_settings(400)
@given(
    kind=WORDS,
    count=WORDS,
    note_len=WORDS,
    block=st.binary(min_size=0, max_size=512),
    note=st.binary(min_size=0, max_size=256),
)
def test_any_extras_a_producer_writes_give_a_checked_frame_or_a_counted_reject(
    kind, count, note_len, block, note
):
    name = f"fuzz-{uuid.uuid4().hex[:10]}"
    try:
        with no_hang(), FrameTap(name, pixel_format="gray8", capacity=8192) as tap, TapReader(name) as reader:
            tap.flag(np.zeros((8, 8), np.uint8), "uncertain", outputs={"probs": [0.5, 0.5]})
            seg = tap._seg
            base = SLOT_WORDS[FLAG]
            data = seg.data_offset(FLAG)
            seg.mm[data + 64 : data + 64 + len(block)] = (
                block  # the outputs block sits after the 64-byte image
            )
            seg.mm[data + 1024 : data + 1024 + len(note)] = note
            w = seg.words
            w[base + S_OUT_KIND], w[base + S_OUT_COUNT] = kind % 2**64, count % 2**64
            w[base + S_NOTE_LEN] = note_len % 2**64
            head = read_header(seg, base, True)
            frame = reader.read(0.02)
            rejected = sum(reader.counters.rejected.values())
            assert (frame is None) == (rejected == 1)
            if frame is not None:
                assert head.sane and frame.flag is not None
                assert frame.outputs is None or isinstance(frame.outputs, ModelOutputs)
                assert w[base + S_COUNT] == 1
    finally:
        for leftover in Path("/dev/shm").glob(f"camdrift-tap.{name}*"):
            leftover.unlink()
