"""Root of every error the hardware layer raises on purpose."""

from bilik.errors import BilikError


class HardwareError(BilikError):
    """A device could not do what was asked; the message says which device and why."""
