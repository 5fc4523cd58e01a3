"""The frame tap: the inference app hands frames to the camdrift agent through shared memory.

Producer side, in the app (imports only numpy and the standard library)::

    from camdrift.agent.tap import FrameTap
    tap = FrameTap("line3", pixel_format="bgr8", group="camdrift-tap")   # creates /dev/shm/camdrift-tap.line3
    for frame in camera:
        tap.offer(frame)                 # ~one shared-memory read unless the agent asked for a frame
        result = model(frame)
        if result.corrected_by_operator:
            tap.flag(frame, "operator corrected false positive")

Consumer side, in the agent: ``TapReader("line3")`` is a :class:`~camdrift.agent.frames.FrameSource`
(``source.uri = "shm:line3"``).

Protocol. The segment is one file in /dev/shm: a 4096-byte control page, then two data slots of ``capacity``
bytes each (the frame slot and the flag slot). The reader asks for a frame by incrementing the ``want`` word;
``offer()`` compares ``want`` with the last request it served and returns at once when they are equal. When
they differ it copies the frame into the frame slot under a seqlock: the slot's ``seq`` word is odd while the
producer writes, and the reader keeps a copy only if ``seq`` was even and unchanged across its copy, so the
producer never waits for the reader and a torn read is discarded, never delivered. ``flag()`` always copies,
into the flag slot (latest flagged frame wins; the reader counts the ones overwritten before it took them).
Each slot may carry an optional float32 activations block after the image.

Restarts. The producer never reuses a segment: it builds a new file under a temporary name and renames it over
the old one (atomic), so a stale segment of a killed producer is simply replaced, and a frame larger than the
capacity makes the producer build a bigger segment the same way. The reader notices a new segment by its inode
(a new *generation*) and reattaches; it notices a dead producer by its pid (``check_pid``; turn it off when
the two sides live in different pid namespaces). Either side may restart at any time.

Ordering. Words are written and read as aligned 8-byte stores/loads. The seqlock relies on the CPU keeping the
order of those stores (x86-64 does; on weakly ordered CPUs such as ARM the many interpreter instructions and
the GIL's atomic operations between the data copy and the ``seq`` store act as the barrier in practice).

Permissions, for the hardened systemd unit. The producer creates the segment with ``mode`` (default 0o660,
applied with fchmod so the umask does not change it) and, if ``group`` is given, chowns it to that group. The
agent opens it read-write (it writes the ``want`` word), so the agent's service user must be in that group:
``SupplementaryGroups=<group>`` in camdrift.service. ``PrivateDevices=yes`` is fine (systemd bind-mounts the
host's /dev/shm into the private /dev); ``ProtectSystem=strict`` leaves /dev/shm writable; ``PrivateIPC=``
does not matter (the segment is a file in /dev/shm, not a System V object). ``RemoveIPC=yes`` on the app's
unit deletes the segment when the app stops, which is harmless: the next ``FrameTap`` builds a new one.
"""

from camdrift.agent.tap.layout import REASON_MAX_BYTES, segment_path
from camdrift.agent.tap.producer import FrameTap, TapGroupError
from camdrift.agent.tap.reader import TapReader

__all__ = ["REASON_MAX_BYTES", "FrameTap", "TapGroupError", "TapReader", "segment_path"]
