"""Rendering projects to audio with DawDreamer. ``render_project`` and ``Renderer`` are the entry points.

The engine is imported on first use: the project model imports the effect vocabulary from this
package, and must not pull in the engine (or DawDreamer) with it.
"""

__all__ = ["Render", "Renderer", "render_project"]


def __getattr__(name):
    if name in __all__:
        from producer.render import engine

        return getattr(engine, name)
    raise AttributeError(name)
