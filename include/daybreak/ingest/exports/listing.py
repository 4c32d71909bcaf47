"""The export files waiting in a landing day folder, on local disk or in object storage.

Kept apart from reading a file (`reader`) and free of pandas, so the lake's layout (`daybreak.ingest.lake`) can
list a day's deliveries without loading the readers.
"""

from __future__ import annotations

from pathlib import Path


def list_exports(day_url_or_dir: str, glob: str) -> list[str]:
    """The export files in one landing day folder matching `glob`, sorted; `[]` when the folder does not exist.

    Works for a local folder and for object storage (`s3://bucket/landing/ds/2024-03-05`): the results keep the
    URL's protocol so they can be handed to `read_export`.
    """
    import fsspec  # here, not at the top: this module stays light to import (see the module's docstring)

    location = str(day_url_or_dir)
    if "://" not in location:  # a local folder: pathlib, so the folder's own name is never read as a pattern
        folder = Path(location)
        return sorted(str(p) for p in folder.glob(glob) if p.is_file()) if folder.is_dir() else []
    fs, root = fsspec.core.url_to_fs(location)
    if not fs.isdir(root):
        return []
    return [fs.unstrip_protocol(p) for p in sorted(fs.glob(f"{root.rstrip('/')}/{glob}")) if fs.isfile(p)]
