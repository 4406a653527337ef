"""Exporters: every file a user takes into their DAW is written from the Project and its Render."""
