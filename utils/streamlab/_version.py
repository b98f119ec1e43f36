"""The kit's version, shared by the package, the emulator's health answer and the CLI."""

__version__ = "0.1.0"
