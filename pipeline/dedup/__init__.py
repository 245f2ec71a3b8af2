"""Exact and MinHash-LSH near-duplicate removal."""
