"""Faithful emulators of every device, for tests, the demo and technicians."""
