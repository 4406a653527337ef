"""One exception tree. The CLI catches ProducerError only: one line to stderr, exit status 2.

Anything else that escapes is a bug and keeps its traceback.
"""


class ProducerError(Exception):
    """A problem with what the user asked for: bad input, bad settings, missing data."""


class InputError(ProducerError):
    """An input file is missing, unreadable, not audio, or holds unusable audio."""


class ProjectError(ProducerError):
    """A project file or value is invalid; the message names the field."""


class SampleError(ProducerError):
    """A sample reference or sample library is unusable."""


class OutputError(ProducerError):
    """The output folder cannot be written as asked."""


class ModelError(ProducerError):
    """Model weights are missing, corrupt, or do not fit the model."""
