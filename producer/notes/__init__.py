"""Notes of real music: the dev set of rendered pieces with their truth (``devset``)."""
