"""Listening sessions: steer a project's effect parameters and track gains by answering "A or B".

- ``params``: the knobs (effect parameters, track gains) and their [0, 1] scales
- ``model``: the pairwise-preference Gaussian process and the choice of the next pair
- ``session``: versions, pairs and answers, kept in a session folder as they happen
- ``server``: the local web page and its JSON API (standard library http.server)

Rendering and saving are handed in by ``producer.api.tune``; nothing here imports the renderer.
"""
