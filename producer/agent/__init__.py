"""The listening agent: policies that play an effect chain or a synth in response to audio.

Rooms (lowest first): ``features`` (causal block descriptors), ``chain`` (the effect chain the
cross-adaptive agent plays, streaming numpy DSP), ``synth`` (the imitation agent's voices),
``corpus`` (training and held-out material), ``envs`` (gymnasium environments), ``policies``
(stable-baselines3 training, evaluation, files), ``stream`` (block-by-block runs and their
automation), ``osc`` (the OSC address space, server and client).
"""
