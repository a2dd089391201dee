"""Imports (GoGoCarto, CSV, GeoJSON), their sync with the directory, and duplicates."""
