"""Rendering projects to audio with DawDreamer. ``render_project`` and ``Renderer`` are the entry points.

The engine (and DawDreamer with it) is imported on first use, so importing the package is cheap.
"""

__all__ = ["Render", "Renderer", "render_project"]


def __getattr__(name):
    if name in __all__:
        from producer.render import engine

        return getattr(engine, name)
    raise AttributeError(name)
