"""Spec knowledge: does the model know what its spec says? Statement pairs, one consistent with
the spec and one inconsistent with it, scored by log-likelihood. Checked-in pair sets for the
shipped specs (`data/<spec>.yaml`, `pairs.py`), sets built through the LLM layer from a new
spec's assertions (`build.py`, answered offline by `answerer.py`), the prompt templates
(`data/prompts.yaml`, `prompts.py`), the pure scorer (`scorer.py`) and the eval (`run.py`)."""
