"""Kotak Pesan: residents' messages and reports to the village office, threaded."""
