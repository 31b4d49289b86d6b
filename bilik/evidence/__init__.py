"""Signed evidence bundles: one file per decided claim that an auditor can check offline.

The branch server builds them (:mod:`bilik.evidence.bundle`), the head office verifies them
before it acknowledges, and ``bilik evidence verify`` checks one anywhere. The format is in
docs/evidence.md.
"""
