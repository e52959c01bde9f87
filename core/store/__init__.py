"""The store: one small protocol (``base``), its types, two backends (``edge``, ``server``), the ``ledger`` of
store-held records and the ``catalog`` whose named operations every other layer uses."""
