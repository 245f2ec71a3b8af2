"""The MSM corpus factory: specs -> generated documents -> dedup -> quality -> packed shards."""
