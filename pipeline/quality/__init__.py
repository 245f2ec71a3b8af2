"""Heuristic quality and synthetic-artifact filters, and the per-spec token budget."""
