"""Value generalization: does a value learned from cheese preferences carry over to held-out
domains? Two-option items (`data/<set>.yaml`), the prompts (`data/prompts.yaml`), pure scorers
(`scorer.py`), log-probability forced choice (`logprob.py`), sampling (`sample.py`), and the
eval that ties them together (`run.py`)."""
