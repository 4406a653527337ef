"""The instrument vocabulary: names used on tracks and in the sample library, their IRMAS class,
General MIDI program and playable range. One table, read everywhere else.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Instrument:
    name: str
    irmas: str | None  # IRMAS class code, None where IRMAS has no class (bass, drums)
    gm_program: int  # General MIDI program, 0-based; ignored for drums
    low: int  # lowest playable MIDI note
    high: int  # highest playable MIDI note
    sustains: bool = False  # bowed, blown, sung or organ: a held note does not decay

    @property
    def is_drums(self) -> bool:
        return self.name == "drums"


INSTRUMENTS: dict[str, Instrument] = {
    i.name: i
    for i in (
        Instrument("cello", "cel", 42, 36, 76, sustains=True),
        Instrument("clarinet", "cla", 71, 50, 89, sustains=True),
        Instrument("flute", "flu", 73, 60, 96, sustains=True),
        Instrument("acoustic_guitar", "gac", 25, 40, 84),
        Instrument("electric_guitar", "gel", 27, 40, 86),
        Instrument("organ", "org", 16, 36, 96, sustains=True),
        Instrument("piano", "pia", 0, 21, 108),
        Instrument("saxophone", "sax", 65, 49, 81, sustains=True),
        Instrument("trumpet", "tru", 56, 54, 84, sustains=True),
        Instrument("violin", "vio", 40, 55, 100, sustains=True),
        Instrument("voice", "voi", 52, 48, 79, sustains=True),
        Instrument("bass", None, 33, 28, 67),
        Instrument("drums", None, 0, 35, 81),
    )
}

IRMAS_CLASSES = ("cel", "cla", "flu", "gac", "gel", "org", "pia", "sax", "tru", "vio", "voi")

# The drum kit: library name -> General MIDI drum note (channel 10).
DRUM_KIT: dict[str, int] = {
    "kick": 36,
    "rim": 37,
    "snare": 38,
    "clap": 39,
    "hihat_closed": 42,
    "hihat_open": 46,
    "tom_low": 45,
    "tom_mid": 47,
    "tom_high": 50,
    "crash": 49,
    "ride": 51,
}

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def note_name(pitch: int) -> str:
    """MIDI note -> scientific pitch name (60 -> 'C4')."""
    return f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


def instrument(name: str) -> Instrument | None:
    return INSTRUMENTS.get(name)
