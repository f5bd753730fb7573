"""`pocgen gpu`: train a generated project on a GPU elsewhere and bring the results back.

A project trains on a laptop CPU on day one; a few thousand of the user's own photos, a larger
input size or more epochs outgrow it. These commands send a clean copy of the project to an
existing engine, run the project's own train, export and evaluate stages there, and bring back
`models/` and `reports/`, nothing else.

One module per engine behind one small interface (`engine.Engine`): `hf_jobs` (Hugging Face Jobs,
paid by the minute), `kaggle` (Kaggle notebooks, a free weekly GPU quota) and `colab` (the
project's own `notebooks/train-on-colab.ipynb` on Colab's free GPU; there is no API to start it,
so pocgen uploads the data and prints the link). `staging` builds the clean copy, `remote_job` is
the program the GPU machine runs, `hub` holds what the Hugging Face routes share, `record` keeps
the job in `.pocgen/gpu.json`, `results` puts what came back into place, and `run` puts them in
order for the CLI.
"""
