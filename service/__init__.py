"""The Kennismakelaar service: settings, wiring, the HTTP API, its read models and the CLI.

Composes ``ingestion`` and ``matching`` on ``core``; never imports ``web``. Kept import-light: importing this
package must not pull in Litestar, models or the store.
"""
