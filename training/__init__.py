"""MSM continued pretraining, AFT data and SFT, and evals."""
