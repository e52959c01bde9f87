"""The base every layer stands on: errors, data models, names, taxonomy, the embedder, Dutch BM25, the store.

Imports nothing else of the project (an import contract in the test suite keeps it so), and nothing heavy at
import time: models and engines load lazily where they are first used.
"""
