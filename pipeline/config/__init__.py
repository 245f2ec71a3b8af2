"""Typed configuration: `params.yaml` (`params`), `run.yaml` (`run`), one loader (`load`)."""
