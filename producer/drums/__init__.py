"""The drum sequencer: answer a kick pattern with other drum voices.

patterns.py (text <-> step grids), metrics.py (rhythm measures), prior.py (style prior, drum-MIDI
loader), reward.py (the weighted groove score), env.py (gymnasium environment), agent.py
(stable-baselines3 DQN: train / load / generate), midi.py and generate.py (files of a drum part).
torch and stable-baselines3 are imported only inside agent.train / DrumPolicy.load; env.py
imports gymnasium. The CLI module imports none of them until a command runs.
"""
