"""Root of the errors the shared base raises."""


class BilikError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigError(BilikError, ValueError):
    """A configuration value is invalid; the message names the key and what is allowed."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"config {key}: {problem}")
        self.key = key
        self.problem = problem


class CredentialMissing(BilikError):
    """A device agent has no readable device token (setting or file)."""
