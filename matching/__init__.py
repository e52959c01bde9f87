"""Matching: ranking logic over store results — search, experts, bridges across ateliers, panels, agenda.

No I/O besides the store (through ``ingestion.store``), so every ranking rule can be tested with a
deterministic embedder.
"""
