"""The head office: receives signed evidence bundles from many branches into PostgreSQL and a
blob directory, exactly once, and serves each branch its day's bookings (docs/headoffice.md).

Several ``bilik headoffice`` processes may serve one database: every state that matters for
correctness (uploads, their offsets, stored bundles) is in PostgreSQL and the blob directory.
"""
