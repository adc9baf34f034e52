"""Layanan Mandiri: the residents' self-service portal (NIK + PIN), one security boundary."""
