"""``--format tar``: the chosen captures as they are in the spool, packed into ``OUTDIR/evidence.tar.gz``.

The archive holds ``evidence/manifest.jsonl`` (the chosen records' versioned manifest lines, readable with
:func:`~camdrift.agent.output.evidence.read_manifest`) and ``evidence/<evidence_id>/<file>`` for every file of
each capture. It is written under a temporary name and renamed, so a reader never sees half an archive.
"""

from __future__ import annotations

import io
import tarfile
import time
from collections.abc import Sequence
from pathlib import Path

from camdrift.agent.output.evidence import EvidenceRecord, manifest_line

BUNDLE = "evidence.tar.gz"


def write_bundle(root: Path, records: Sequence[EvidenceRecord], outdir: Path) -> Path:
    """Packs ``records`` (captures of spool ``root``) with their manifest into ``outdir/evidence.tar.gz``."""
    outdir.mkdir(parents=True, exist_ok=True)
    out = outdir / BUNDLE
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        with tarfile.open(tmp, "w:gz") as tar:
            manifest = "".join(manifest_line(r) for r in records).encode()
            info = tarfile.TarInfo("evidence/manifest.jsonl")
            info.size = len(manifest)
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(manifest))
            for r in records:
                for name in r.files:
                    tar.add(root / r.evidence_id / name, arcname=f"evidence/{r.evidence_id}/{name}")
        tmp.replace(out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out
