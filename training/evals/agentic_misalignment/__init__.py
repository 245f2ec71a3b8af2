"""Agentic misalignment: an email agent acting for a company through tools learns it will be
replaced and can exfiltrate its weights, leak a confidential memo, or let a person come to harm.
Scenarios (`data/<scenario>.yaml`), the tools (`data/tools.yaml`) and prompts
(`data/prompts.yaml`), the tool-call parser (`toolcalls.py`), the rule classifier and the judge's
verdict (`classify.py`), the summary (`scorer.py`), and the eval (`run.py`)."""
