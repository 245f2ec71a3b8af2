"""The LLM layer: every model call of the project goes through it.

A client builds `request.Request`s (messages, optional tools, sampling settings, a free-form
purpose) and hands them to a `runner.Runner`, which answers from the content-addressed
`cache.RequestCache` first and sends the rest to a backend (`backends`) under the spending cap
(`pricing`). Corpus generation (`pipeline.generate`) is one client; AFT data, judges and evals
are others. Nothing here knows about specs or corpora.
"""
