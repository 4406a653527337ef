"""Facts of the trade that several rooms of the house need, stated once.

MIDI: pulses per quarter note, the General MIDI drum channel and percussion keys. Levels: the gain
range a clip or track may take in dB. Everything else imports these names instead of repeating them.
"""
from __future__ import annotations

# Pulses per quarter note of every MIDI file producer writes.
PPQ = 960
# General MIDI's channel 10, counted from zero as mido and pretty_midi count.
DRUM_CHANNEL = 9

# Drum voice -> General MIDI percussion key written to MIDI files.
GM_DRUM_NOTES = {
    "kick": 36, "snare": 38, "rim": 37, "clap": 39, "hihat_closed": 42, "hihat_open": 46,
    "tom_low": 45, "tom_mid": 47, "tom_high": 50, "crash": 49, "ride": 51,
}
# Reading MIDI: every General MIDI percussion key that maps onto one of those voices.
GM_KEY_VOICE = {35: "kick", 36: "kick", 38: "snare", 40: "snare", 37: "rim", 39: "clap",
                42: "hihat_closed", 44: "hihat_closed", 46: "hihat_open", 41: "tom_low",
                43: "tom_low", 45: "tom_low", 47: "tom_mid", 48: "tom_mid", 50: "tom_high",
                49: "crash", 52: "crash", 55: "crash", 57: "crash", 51: "ride", 53: "ride", 59: "ride"}

# Gains the planner may give a clip (dB relative to the sample's own level).
CLIP_GAIN_MIN_DB, CLIP_GAIN_MAX_DB = -30.0, 6.0

# General MIDI percussion key names (channel 10): how reports label drum notes.
GM_DRUM_NAMES: dict[int, str] = {
    35: "Acoustic Bass Drum", 36: "Bass Drum 1", 37: "Side Stick", 38: "Acoustic Snare",
    39: "Hand Clap", 40: "Electric Snare", 41: "Low Floor Tom", 42: "Closed Hi-Hat",
    43: "High Floor Tom", 44: "Pedal Hi-Hat", 45: "Low Tom", 46: "Open Hi-Hat", 47: "Low-Mid Tom",
    48: "Hi-Mid Tom", 49: "Crash Cymbal 1", 50: "High Tom", 51: "Ride Cymbal 1",
    52: "Chinese Cymbal", 53: "Ride Bell", 54: "Tambourine", 55: "Splash Cymbal", 56: "Cowbell",
    57: "Crash Cymbal 2", 58: "Vibraslap", 59: "Ride Cymbal 2", 60: "Hi Bongo", 61: "Low Bongo",
    62: "Mute Hi Conga", 63: "Open Hi Conga", 64: "Low Conga", 65: "High Timbale",
    66: "Low Timbale", 67: "High Agogo", 68: "Low Agogo", 69: "Cabasa", 70: "Maracas",
    71: "Short Whistle", 72: "Long Whistle", 73: "Short Guiro", 74: "Long Guiro", 75: "Claves",
    76: "Hi Wood Block", 77: "Low Wood Block", 78: "Mute Cuica", 79: "Open Cuica",
    80: "Mute Triangle", 81: "Open Triangle",
}
