"""The drummer: answer a kick with a whole drum part in a style learned from real grooves.

corpus.py (MMA's style library -> step grids with velocities, families, held-out files),
style.py (the learned style: where each voice plays given family, meter and kick), patterns.py
(pattern text), kick.py (the kick from text, MIDI or audio), metrics.py (rhythm measures),
reward.py (the groove score), env.py (gymnasium environment), qnet.py (the step-shared
Q-network), agent.py (training, loading, playing a policy), train.py (the shipped settings),
generate.py (a whole part: variation, fills, crashes, velocities, feel; its files).
torch and stable-baselines3 are imported only by qnet.py and inside agent.train /
DrumPolicy.load; the CLI module imports none of them until a command runs.
"""
