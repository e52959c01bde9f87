"""The Kennismakelaar application shell: settings, errors, CLI, wiring and the Litestar app.

Kept import-light on purpose: ``service.settings`` and ``service.errors`` are imported by every layer,
so importing this package must not pull in Litestar, models or the store.
"""
