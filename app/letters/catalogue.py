"""The letter types Balai ships, ready to use (DOMAIN.md §5), and their idempotent seeding.

``seed_letter_types`` adds what is missing and never overwrites what operators edited.
Requirement ids are the national codes of reference/requirement_document.csv:
1 Surat Pengantar RT/RW, 2 Fotokopi KK, 3 Fotokopi KTP, 4 Surat Nikah, 5 Akta Kelahiran,
6 Surat Pindah Datang, 7 Surat Keterangan Kematian (RS/dokter), 8 Surat Keterangan Cerai,
9 Ijazah, 10 SK PNS/TNI/POLRI, 11 Surat Keterangan Kematian (desa), 12 Surat imigrasi/STMD.
"""
import csv
from pathlib import Path

from sqlalchemy import select, text

from app.extensions import db
from app.letters.fields import schema_errors
from app.letters.models import LetterType, Requirement

DATA = Path(__file__).resolve().parent / "data"


def _f(key, label, kind="text", required=False, options=None, help=""):
    item = {"key": key, "label": label, "kind": kind, "required": required, "help": help}
    if options:
        item["options"] = options
    return item


REASONS_TO_MOVE = ["Pekerjaan", "Pendidikan", "Keamanan", "Kesehatan", "Perumahan", "Keluarga", "Lainnya"]
MOVE_CLASSES = ["Dalam satu desa", "Antar desa dalam satu kecamatan", "Antar kecamatan",
                "Antar kabupaten/kota", "Antar provinsi"]

#: (code, name, classification, validity (n, unit), self-service, about the requester, requirements, fields, body)
LETTER_TYPES = [
    ("domisili", "Surat Keterangan Domisili", "400.12.2.1", (3, "month"), True, True, [1, 2, 3],
     [_f("since", "Tinggal di alamat ini sejak", "date", True),
      _f("origin_address", "Alamat asal (bagi pendatang)", "textarea", help="Kosongkan bila sejak lahir di desa ini.")],
     "Orang tersebut di atas benar berdomisili di Desa {village} pada alamat tersebut di atas."),
    ("usaha", "Surat Keterangan Usaha", "500.2.2.4", (6, "month"), True, True, [1, 2, 3],
     [_f("business_name", "Nama usaha", required=True), _f("business_kind", "Jenis usaha", required=True),
      _f("business_address", "Alamat usaha", "textarea", True), _f("business_since", "Usaha berjalan sejak", "date")],
     "Orang tersebut di atas benar mempunyai usaha dengan keterangan sebagai berikut:"),
    ("tidak_mampu", "Surat Keterangan Tidak Mampu", "400.12.2.1", (3, "month"), True, True, [1, 2, 3],
     [_f("dtks_number", "Nomor DTKS/DTSEN (jika ada)"),
      _f("need", "Dipergunakan untuk", "select", True, ["Pendidikan / sekolah", "Kesehatan / rumah sakit", "Lainnya"]),
      _f("dependants", "Anggota keluarga yang ditanggung", "textarea", help="Nama anggota keluarga dari KK.")],
     "Orang tersebut di atas benar berasal dari keluarga tidak mampu / berpenghasilan rendah."),
    ("pengantar_skck", "Surat Pengantar SKCK", "400.12.2.1", (1, "month"), True, True, [1, 2, 3], [],
     "Orang tersebut di atas benar penduduk Desa {village} dan sepanjang pengetahuan kami berkelakuan baik "
     "serta tidak sedang tersangkut perkara pidana."),
    ("belum_menikah", "Surat Keterangan Belum Menikah", "400.12.3.2", (3, "month"), True, True, [1, 2, 3], [],
     "Orang tersebut di atas menurut data kependudukan Desa {village} berstatus belum pernah menikah."),
    ("beda_identitas", "Surat Keterangan Beda Identitas", "400.12.2.1", (3, "month"), True, True, [1, 2, 3],
     [_f("other_document", "Nama dokumen lain", required=True, help="Misalnya ijazah, akta kelahiran, buku tabungan."),
      _f("other_number", "Nomor dokumen lain"), _f("other_name", "Nama yang tertulis pada dokumen lain", required=True),
      _f("difference", "Data yang berbeda", "textarea", True)],
     "Orang tersebut di atas adalah orang yang sama dengan yang tercantum pada dokumen berikut, "
     "meskipun terdapat perbedaan data:"),
    ("penghasilan_ortu", "Surat Keterangan Penghasilan Orang Tua", "400.12.2.1", (3, "month"), True, True, [1, 2, 3],
     [_f("student_number", "Nomor induk siswa/mahasiswa", required=True), _f("school", "Nama sekolah/perguruan tinggi", required=True),
      _f("class_name", "Kelas/semester"), _f("father_income", "Penghasilan ayah per bulan (rupiah)", "number", True),
      _f("mother_income", "Penghasilan ibu per bulan (rupiah)", "number", True)],
     "Orang tersebut di atas adalah orang tua/wali dari pelajar berikut, dengan penghasilan sebagai berikut:"),
    ("pengantar_pindah", "Surat Pengantar Pindah", "400.12.2.2", (1, "month"), True, True, [1, 2, 3],
     [_f("destination_address", "Alamat tujuan", "textarea", True),
      _f("reason", "Alasan pindah", "select", True, REASONS_TO_MOVE),
      _f("move_class", "Klasifikasi pindah", "select", True, MOVE_CLASSES),
      _f("move_date", "Rencana tanggal pindah", "date", True),
      _f("members_moving", "Anggota keluarga yang ikut pindah", "textarea")],
     "Orang tersebut di atas bermaksud pindah dengan keterangan sebagai berikut:"),
    ("keterangan_penduduk", "Surat Keterangan Penduduk", "400.12.2.1", (3, "month"), True, True, [2, 3], [],
     "Orang tersebut di atas benar tercatat sebagai penduduk Desa {village}."),
    ("pengantar_umum", "Surat Pengantar", "400.12.2.1", (1, "month"), True, True, [], [],
     "Orang tersebut di atas adalah penduduk Desa {village}. Surat pengantar ini diberikan untuk keperluan "
     "tersebut di bawah ini."),
    ("kelahiran", "Surat Keterangan Kelahiran", "400.12.3.1", (12, "month"), False, False, [1, 2, 4],
     [_f("child_name", "Nama anak", required=True), _f("child_sex", "Jenis kelamin anak", "select", True, ["Laki-laki", "Perempuan"]),
      _f("event_date", "Tanggal lahir", "date", True), _f("event_time", "Pukul"),
      _f("event_place", "Tempat lahir", required=True), _f("mother_name", "Nama ibu", required=True),
      _f("father_name", "Nama ayah"), _f("witness_1", "Saksi 1", required=True), _f("witness_2", "Saksi 2", required=True)],
     "Orang tersebut di atas melaporkan kelahiran dengan keterangan sebagai berikut:"),
    ("kematian", "Surat Keterangan Kematian", "400.12.3.1", (12, "month"), False, False, [1, 2, 7],
     [_f("deceased_name", "Nama yang meninggal", required=True), _f("deceased_nik", "NIK yang meninggal"),
      _f("event_date", "Tanggal meninggal", "date", True), _f("event_time", "Pukul"),
      _f("event_place", "Tempat meninggal", required=True), _f("cause", "Sebab kematian"),
      _f("witness_1", "Saksi 1", required=True), _f("witness_2", "Saksi 2", required=True)],
     "Orang tersebut di atas melaporkan kematian dengan keterangan sebagai berikut:"),
]


def seed_requirements():
    """Insert the national requirement list where missing (by id). Returns the count added."""
    with open(DATA / "requirement_document.csv", encoding="utf-8", newline="") as fh:
        rows = [(int(r["code"]), r["name_id"].strip()) for r in csv.DictReader(fh)]
    existing = set(db.session.scalars(select(Requirement.id)))
    added = [Requirement(id=i, name=n) for i, n in rows if i not in existing]
    db.session.add_all(added)
    db.session.flush()
    if added and db.session.get_bind().dialect.name == "postgresql":
        # Rows written with explicit ids leave the id sequence behind: the next requirement an
        # operator adds would get id 1 again.
        db.session.execute(text("SELECT setval(pg_get_serial_sequence('requirement', 'id'), "
                                "(SELECT MAX(id) FROM requirement))"))
    return len(added)


def seed_letter_types():
    """Insert the shipped letter types that do not exist yet (matched by code). Returns the count added.

    Raises:
        ValueError: a shipped field schema is invalid (a programming error, caught by tests).
    """
    seed_requirements()
    requirements = {r.id: r for r in db.session.scalars(select(Requirement))}
    existing = set(db.session.scalars(select(LetterType.code)))
    added = 0
    for order, (code, name, klass, (amount, unit), self_service, about, reqs, fields, body) in enumerate(LETTER_TYPES):
        errors = schema_errors(fields)
        if errors:
            raise ValueError(f"letter type {code}: {[str(e) for e in errors]}")
        if code in existing:
            continue
        db.session.add(LetterType(
            code=code, name=name, classification_code=klass, validity_amount=amount, validity_unit=unit,
            self_service=self_service, about_requester=about, fields=fields, body=body, sort_order=order,
            requirements=[requirements[i] for i in reqs]))
        added += 1
    db.session.flush()
    return added
