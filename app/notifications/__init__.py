"""Notification centre: the resident's bell in Layanan Mandiri (and e-mail when configured)."""
