"""The evals of `msm evaluate`: one subpackage or module per eval, each a dataset, a prompt
template file and pure scorers, each writing its own `metrics/<eval>.json`."""
