"""officer package."""
