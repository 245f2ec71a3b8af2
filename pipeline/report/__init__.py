"""`msm report`: one self-contained HTML file on the corpora and the experiments."""
