"""The store: its protocol, two backends (Qdrant Edge embedded, Qdrant server), the catalog and the ledger."""
