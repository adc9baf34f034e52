"""Letter requests (permohonan surat): types as data, the workflow, numbering, PDFs."""
