"""booth package."""
