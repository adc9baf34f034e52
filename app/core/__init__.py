"""Shared pieces: code tables, validators, PDF rendering, formatting."""
