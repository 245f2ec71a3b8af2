"""Tokenize and pack documents into fixed-length training sequences, and verify shards."""
