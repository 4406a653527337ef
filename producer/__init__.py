"""producer: a DAW production agent."""
__version__ = "0.1.0"
