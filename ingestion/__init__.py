"""Ingestion: files → documents and expert profiles → passages → vectors → the store.

One module per stage (``discover``, ``metadata``, ``parse``, ``chunk``, ``records``), each taking and returning
the plain dataclasses of ``core.models``; ``pipeline`` composes them with the embedder, BM25 and the catalog of
``core``. ``parse`` is the only module that knows ``unstructured``. Stands on ``core`` only.
"""
