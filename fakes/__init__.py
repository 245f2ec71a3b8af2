"""Stand-ins for tests, benchmarks and the no-cost dry run; never imported by the product.

- `fakes.localserver`: the Anthropic and OpenAI HTTP APIs on 127.0.0.1 (protocol-faithful,
  with fault injection and kill hooks); `python -m fakes.localserver` serves it.
- `fakes.standin`: a stand-in model that answers the corpus prompts in form, for the server.
- `fakes.corpus`: a labelled near-duplicate corpus for dedup and quality tests and benchmarks.
"""
