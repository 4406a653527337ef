"""Timbre embeddings from an instrument-recognition CNN (after Han, Kim & Lee 2017).

The contract the planner relies on::

    from producer.timbre import load_model
    model = load_model()          # the shipped default model; load_model("tiny") for tests;
                                  # ModelError if the weights are missing or corrupt
    emb = model.embed(y)          # y: float32 mono 22,050 Hz [shape=(batch, n)], n >= 1 s
                                  # -> [shape=(batch, D)] float32, each row unit L2 norm (numpy)
    probs = model.predict(y)      # -> [shape=(batch, 11)] instrument probabilities (sigmoid)
    model.sr == 22050
    model.classes == ("cel", "cla", "flu", "gac", "gel", "org", "pia", "sax", "tru", "vio", "voi")
    model.embedding_dim == D      # 256 for the 'fast' network, 1024 for 'han'

How a window is scored: each row of y is peak-normalised, turned into a 128-band log-mel
(n_fft 2048, hop 512) and cut into 1 s sub-windows (44 frames; a 3 s window is three of them).
The CNN runs once per sub-window; sigmoid outputs and penultimate activations are averaged
over the sub-windows, and the averaged activation is L2-normalised. Embeddings are deterministic
(eval mode, no dropout): the same y gives the same numbers. Cosine similarity between two
windows is ``emb_a @ emb_b``. ``model.embed_and_predict(y)`` returns both for one pass.

Inputs shorter than 1 s raise InputError; pad them yourself if you must score them.
"""
from producer.timbre.pretrained import available, load_model

__all__ = ["load_model", "available"]
