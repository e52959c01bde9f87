"""Matching: ranking logic over store results — search, experts, bridges across ateliers, panels, agenda.

Stands on ``core`` only and reaches the store through the catalog's named operations, so every ranking rule
can be tested with a deterministic embedder.
"""
