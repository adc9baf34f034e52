"""Operator panel: import the register from a spreadsheet, and export it (issue 5).

One page (``/register-transfer/``): upload an XLSX or CSV file; the file is checked first (a
dry run: nothing written) and the report is shown (counts, every error with row, column, value
and reason, warnings); an "Import" button then imports the same file, which waits on the
server (``UPLOAD_FOLDER/imports``, outside the web root, under a random name remembered in the
operator's session) for at most :data:`KEEP_SECONDS`. Export buttons download the whole
register as XLSX or CSV. The work is done by :mod:`app.residents.transfer`; this view checks
the upload, calls it and commits.

Permissions (FAB, one per group of methods, on view ``RegisterTransferView``): ``can_index``
(the page and the sample files), ``can_import`` (check and import), ``can_export``.
"""
import logging
import os
import secrets
import tempfile
import time
from datetime import date
from pathlib import Path

from flask import (Response, abort, current_app, flash, g, redirect, request, send_file, session,
                   stream_with_context, url_for)
from flask_appbuilder import BaseView, expose, has_access
from app.core.i18n import lazy_gettext as _l

from app.core.uploads import UploadError, read_limited
from app.extensions import db
from app.residents import transfer
from app.residents.services import refresh_statistics

log = logging.getLogger(__name__)

#: Default upload limit in bytes (config ``IMPORT_MAX_BYTES``).
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
#: How long a checked file waits for its "Import" click, in seconds.
KEEP_SECONDS = 60 * 60
#: Errors and warnings listed on the page (the counts always cover all of them).
PAGE_LIMIT = 1000
#: The session key holding the checked file's token.
SESSION_KEY = "register_import"
#: The repository's sample files (docs/), offered for download on the page.
SAMPLE_DIR = Path(__file__).resolve().parents[2] / "docs"
MIMETYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             "csv": "text/csv; charset=utf-8"}


def import_max_bytes():
    """The upload limit in bytes (``IMPORT_MAX_BYTES``, default 20 MB)."""
    return int(current_app.config.get("IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES))


def _import_dir():
    path = Path(current_app.config["UPLOAD_FOLDER"]) / "imports"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _clean_old_files(folder):
    """Delete checked files older than :data:`KEEP_SECONDS` (never imported)."""
    limit = time.time() - KEEP_SECONDS
    for entry in folder.glob("*.upload"):
        try:
            if entry.stat().st_mtime < limit:
                entry.unlink()
        except OSError:
            pass


def _stored_file():
    """The checked file of this session: ``(path, info)`` or ``(None, None)``."""
    info = session.get(SESSION_KEY)
    token = request.form.get("token", "")
    if not info or not token or not secrets.compare_digest(info.get("token", ""), token):
        return None, None
    path = _import_dir() / f"{info['token']}.upload"
    if not path.is_file() or path.stat().st_mtime < time.time() - KEEP_SECONDS:
        return None, None
    return path, info


def _forget_file():
    info = session.pop(SESSION_KEY, None)
    if info:
        try:
            (_import_dir() / f"{info['token']}.upload").unlink()
        except OSError:
            pass


class RegisterTransferView(BaseView):
    """Import and export of the register (see the module docstring)."""

    route_base = "/register-transfer"
    default_view = "index"
    method_permission_name = {"index": "index", "sample": "index", "check": "import",
                              "run_import": "import", "export": "export"}

    def _render(self, template, **context):
        page = self.render_template(template, max_mb=import_max_bytes() // (1024 * 1024),
                                    columns=transfer.COLUMNS, optional=transfer.OPTIONAL_COLUMNS,
                                    page_limit=PAGE_LIMIT, **context)
        return page, 200, {"Cache-Control": "no-store"}

    @expose("/")
    @has_access
    def index(self):
        """The upload form, the export buttons and the column list."""
        return self._render("transfer/index.html")

    @expose("/sample/<fmt>")
    @has_access
    def sample(self, fmt):
        """The sample file from ``docs/`` (fictitious residents)."""
        if fmt not in MIMETYPES:
            abort(404)
        path = SAMPLE_DIR / f"sample-import.{fmt}"
        if not path.is_file():
            abort(404)
        return send_file(path, mimetype=MIMETYPES[fmt], as_attachment=True,
                         download_name=f"contoh-impor-penduduk.{fmt}")

    @expose("/check", methods=["POST"])
    @has_access
    def check(self):
        """Check an uploaded file (dry run) and show the report with the "Import" button."""
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            flash(_l("Choose an XLSX or CSV file first."), "warning")
            return redirect(url_for(".index"))
        try:
            data = read_limited(upload.stream, import_max_bytes())
            fmt = transfer.detect_format(data)
        except UploadError as exc:
            flash(exc.message, "danger")
            return redirect(url_for(".index"))
        except transfer.TransferFileError as exc:
            flash(exc.message, "danger")
            return redirect(url_for(".index"))

        _forget_file()
        folder = _import_dir()
        _clean_old_files(folder)
        token = secrets.token_urlsafe(24)
        fd = os.open(folder / f"{token}.upload", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        name = os.path.basename(upload.filename.replace("\\", "/"))[:120]
        session[SESSION_KEY] = {"token": token, "fmt": fmt, "name": name}

        result = transfer.import_residents(data, fmt=fmt, dry_run=True)
        db.session.rollback()
        return self._render("transfer/report.html", result=result, file_name=name, token=token,
                            can_import=not result.file_errors)

    @expose("/import", methods=["POST"])
    @has_access
    def run_import(self):
        """Import the file checked on the report page; all-or-nothing unless "partial" is ticked."""
        path, info = _stored_file()
        if path is None:
            flash(_l("The checked file is no longer available. Upload it again."), "warning")
            return redirect(url_for(".index"))
        partial = request.form.get("partial") == "1"
        try:
            result = transfer.import_residents(path.read_bytes(), fmt=info["fmt"], partial=partial)
            if result.written:
                db.session.commit()
                refresh_statistics()
            else:
                db.session.rollback()
        except Exception:
            db.session.rollback()
            log.exception("resident import failed")
            flash(_l("The import failed because of a database error. Nothing was saved."), "danger")
            return redirect(url_for(".index"))
        log.info("resident import by user %s: %d created, %d updated, %d unchanged, %d skipped",
                 getattr(g.user, "id", None), result.created, result.updated, result.unchanged,
                 result.skipped)
        if result.written:
            _forget_file()
            flash(_l("The import is done."), "success")
        return self._render("transfer/report.html", result=result, file_name=info["name"],
                            token=None if result.written else info["token"],
                            can_import=not result.written and not result.file_errors)

    @expose("/export/<fmt>")
    @has_access
    def export(self, fmt):
        """Download the whole register as XLSX or CSV (streamed; personal data: never cached)."""
        if fmt not in MIMETYPES:
            abort(404)
        from app.residents.services import get_village

        village = get_village()
        name = f"penduduk-{village.code if village else 'desa'}-{date.today():%Y%m%d}.{fmt}"
        log.info("register exported as %s by user %s", fmt, getattr(g.user, "id", None))
        headers = {"Cache-Control": "no-store"}
        if fmt == "csv":
            headers["Content-Disposition"] = f'attachment; filename="{name}"'
            return Response(stream_with_context(transfer.iter_csv_chunks()), mimetype=MIMETYPES["csv"],
                            headers=headers)
        # openpyxl needs a seekable file for the zip: an anonymous temporary file, gone on close.
        fh = tempfile.TemporaryFile()
        try:
            transfer.write_xlsx(fh)
            fh.seek(0)
        except Exception:
            fh.close()
            raise
        response = send_file(fh, mimetype=MIMETYPES["xlsx"], as_attachment=True, download_name=name)
        response.headers.update(headers)
        return response


def register_transfer_views(appbuilder):
    """Add :class:`RegisterTransferView` to the "Register" menu (called from :mod:`app.admin`).

    View name ``RegisterTransferView``; menu name ``Import and export`` (category
    ``Register``); permissions ``can_index``, ``can_import``, ``can_export``.
    """
    appbuilder.add_view(RegisterTransferView, "Import and export", label=_l("Import and export"),
                        icon="fa-exchange", category="Register", category_label=_l("Population register"),
                        category_icon="fa-book")
