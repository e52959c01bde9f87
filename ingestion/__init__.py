"""Ingestion: files → documents and expert profiles → passages → vectors → the store.

One module per stage (``discover``, ``metadata``, ``parse``, ``chunk``, ``embed``), each taking and returning
the plain dataclasses in ``ingestion.models``; ``pipeline`` composes them. ``parse`` is the only module that
knows ``unstructured``.
"""
