"""Corpus steps on datatrove executors: run settings, work folders, local, Ray and Slurm runs."""
