"""Value generalization: does a value learned from cheese preferences carry over to held-out
domains? Two-option items (`data/<set>.yaml`), the prompts (`data/prompts.yaml`), pure scorers
(`scorer.py`), log-probability forced choice (`logprob.py`), and the eval (`run.py`), which samples
through `training/evals/sampling.py` in generate mode."""
