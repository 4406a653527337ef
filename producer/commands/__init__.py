"""Subcommands of the `producer` CLI, one module each.

Each module defines ``add_parser(subparsers)`` and must not import heavy libraries (torch,
dawdreamer, librosa, stable-baselines3) at module level, so that ``producer --help`` is instant.
The parser's ``func`` does the lazy imports and calls into the library.
"""

# Order here is the order `producer --help` lists them.
COMMAND_MODULES = (
    "recreate",
    "render",
    "export",
    "drums",
    "samples",
    "embed",
    "embeddings",
    "tune",
    "batch",
    "live",
    "agent",
    "match",
)
