"""camdrift.calibration.evidence: the evidence spool for the ML team (``camdrift evidence``).

``select`` reads a spool's records and filters them; ``items`` turns the chosen captures into typed
:class:`~camdrift.calibration.evidence.items.ExportItem` rows, one per exported image; ``coco``, ``label_studio``,
``cvat`` and ``bundle`` write them for a labelling tool (or as a .tar.gz); ``curate`` proposes the next training
additions; ``command`` is the CLI.
"""
