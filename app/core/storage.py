"""Private file storage under UPLOAD_FOLDER (outside the web root), written atomically.

Files get random names; the original name of an upload is never used on disk.
"""
import os
import secrets
import tempfile

from flask import current_app


def _folder(area):
    """Absolute path of ``UPLOAD_FOLDER/<area>``, created on first use."""
    if not area.isidentifier():
        raise ValueError("bad storage area")
    path = os.path.join(current_app.config["UPLOAD_FOLDER"], area)
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def store_bytes(area, data, extension):
    """Write ``data`` to a new random file name in ``area``, atomically.

    The bytes go to a temporary file in the same folder, are flushed to disk, then renamed into
    place, so a crash never leaves a half-written file under the final name.

    Args:
        area: sub-folder name, e.g. "documents", "letters", "photos".
        data: the file content (bytes).
        extension: file extension without the dot, e.g. "jpg", "pdf".

    Returns:
        str: the stored file name (``<32 hex>.<extension>``), to keep in the database.
    """
    folder = _folder(area)
    name = f"{secrets.token_hex(16)}.{extension}"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, os.path.join(folder, name))
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return name


def path_of(area, name):
    """Absolute path of a stored file; only a bare stored name is accepted.

    Raises:
        ValueError: ``name`` contains a path separator or starts with a dot.
    """
    if not name or os.path.basename(name) != name or name.startswith("."):
        raise ValueError("bad stored file name")
    return os.path.join(_folder(area), name)


def delete(area, name):
    """Remove a stored file if it exists (after the database row is gone)."""
    try:
        os.unlink(path_of(area, name))
    except FileNotFoundError:
        pass
