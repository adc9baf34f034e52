"""Program Bantuan: aid programmes and their recipients (DOMAIN.md §6)."""
