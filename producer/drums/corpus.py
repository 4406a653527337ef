"""The groove corpus: drum grooves of MMA's style library on step grids, with velocities.

MMA (Musical MIDI Accompaniment, Debian package ``mma``, GPL) ships a library of style files; each
defines grooves (a main beat and its variations, intros, endings, fills) as per-track sequences.
``mma -Djs FILE`` prints every groove of a file with its sequences fully expanded (macros, copies
and included pattern definitions resolved): per track and per bar, ``"pos dur vol; ..."`` with
``pos`` a 1-based beat number. :func:`build_corpus` turns those into step grids; the result is
committed as ``data/mma_grooves.json`` (see ``data/PROVENANCE.md``) so nothing at run time needs
mma. ``producer drums corpus`` rebuilds it.

Grids. MMA counts beats (``Time N``) and writes triplets as fractions (2.66); the grid of a groove
is the meter's step grid chosen by the smallest quantisation error:

====================  ==========  =========================================
MMA Time / Timesig    grid        meter (steps per bar)
====================  ==========  =========================================
Time 4, straight      4 / beat    4/4 (16 sixteenths)
Time 4, triplets      3 / beat    12/8 (12 eighths; swing and shuffle land here)
Time 3, 3/4           4 / beat    3/4 (12 sixteenths)
Time 3, 6/8           4 / beat    6/8 (12 sixteenths)
Time 2, 6/8           6 / beat    6/8
Time 6, 6/8           2 / beat    6/8
====================  ==========  =========================================

Other grids (5/4, 9/8 triplet waltzes) are left out. Tones map to our voices through their
General MIDI key (``producer.constants.GM_KEY_VOICE``); hand percussion (congas, shakers ...)
has no voice here and is dropped.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from producer.constants import GM_KEY_VOICE
from producer.errors import InputError

DATA_DIR = Path(__file__).resolve().parent / "data"
CORPUS_PATH = DATA_DIR / "mma_grooves.json"
MMA_LIB = Path("/usr/share/mma/lib")

# Meter -> (steps per bar, quarter notes per step). 12/8 steps are eighth notes; the others 16ths.
METERS = {"4/4": (16, 0.25), "3/4": (12, 0.25), "6/8": (12, 0.25), "12/8": (12, 0.5)}
# Beats of a meter (for the printed grid and the backbeat): steps per beat.
BEAT_STEPS = {"4/4": 4, "3/4": 4, "6/8": 6, "12/8": 3}
# Metrical hierarchy of a bar, top down (metrics.metrical_levels): 3/4 is three beats of two
# eighths of two 16ths; 6/8 two dotted beats of three eighths; 12/8 four beats of three eighths.
METER_DIVISIONS = {"4/4": (2, 2, 2, 2), "3/4": (3, 2, 2), "6/8": (2, 3, 2), "12/8": (2, 2, 3)}
# Where a snare backbeat falls (steps of one bar): beats 2 and 4; 3/4 beats 2 and 3; 6/8 beat 2.
BACKBEAT_STEPS = {"4/4": (4, 12), "3/4": (4, 8), "6/8": (6,), "12/8": (3, 9)}

# GM percussion names as MMA spells them (its miditables), name -> key; only keys our voices use.
MMA_TONES = {
    "kickdrum2": 35, "kickdrum1": 36, "sidekick": 37, "snaredrum1": 38, "handclap": 39,
    "snaredrum2": 40, "lowtom2": 41, "closedhihat": 42, "lowtom1": 43, "pedalhihat": 44,
    "midtom2": 45, "openhihat": 46, "midtom1": 47, "hightom2": 48, "crashcymbal1": 49,
    "hightom1": 50, "ridecymbal1": 51, "chinesecymbal": 52, "ridebell": 53, "splashcymbal": 55,
    "crashcymbal2": 57, "ridecymbal2": 59,
}

# Style file -> style family. Written by hand from the files' names and their Doc blocks; files
# not listed (metronomes, "none", 5/4 jazz) are not drum grooves we learn from.
FAMILIES = {
    "rock": ["50srock", "60srock", "8beat", "basicrock", "bubblerock", "folkrock", "softrock",
             "rock-128", "jazzrock", "twist", "boneym", "trance"],
    "funk": ["bvfunk", "dsoul", "rb", "strut"],
    "latin": ["afro-cuban", "beguine", "bolero", "bossanova", "chacha", "cubanguitar", "mambo",
              "merengue", "rhumba", "jazzrhumba", "salsa", "samba", "son", "tango", "lighttango",
              "slowbolero", "calypso", "ska", "lfusion"],
    "jazz": ["bebop", "descendingjazz", "evansish", "folkyjazz", "gypsyjazz", "jazzcombo",
             "jazzguitar", "mellowjazz", "modernjazz", "nitejazz", "slowjazz", "dixie"],
    "swing": ["swing", "fastswing", "easyswing", "bigband", "jive", "68swing", "charleston",
              "foxtrot", "quickstep", "softshoe", "showtune", "broadway", "slowbroadway",
              "ragtime", "blues", "blues128", "blues68", "fastblues", "slowblues",
              "boggiewoggie", "shuffleboggie"],
    "country": ["bluegrass", "countryswing", "slowcountry", "westernswing", "zydeco",
                "hillcountry", "countryblues"],
    "ballad": ["ballad", "ballad128", "ballad68", "folkballad", "guitarballad", "pianoballad",
               "popballad", "rb-ballad", "rockballad", "stringballad", "lullaby", "spiritual",
               "slowspiritual", "popspiritual", "hymn"],
    "waltz": ["waltz", "fastwaltz", "vienesewaltz", "frenchwaltz", "broadwaywaltz", "rockwaltz",
              "jazzwaltz", "fastjazzwaltz", "modernjazzwaltz", "countrywaltz", "latinwaltz",
              "arpeggiowaltz"],
    "march": ["march", "68march", "bwmarch", "dixiemarch", "polka"],
    "folk": ["folk", "bluefolk", "desert", "arpeggio44", "arpeggio68"],
}
FILE_FAMILY = {f: fam for fam, files in FAMILIES.items() for f in files}
# The other libraries of the package (casio, yamaha, zoom, pflib, kara: keyboard and drum-machine
# styles) are named by what they play; the first keyword found in a file's name gives its family.
FAMILY_KEYWORDS = (
    ("ballad", "ballad"), ("bald", "ballad"), ("serenade", "ballad"), ("waltz", "waltz"),
    ("34", "waltz"), ("march", "march"), ("polka", "march"), ("shuffle", "swing"),
    ("swing", "swing"), ("bigband", "swing"), ("blues", "swing"), ("boogie", "swing"),
    ("foxtrot", "swing"), ("quickstep", "swing"), ("basie", "swing"), ("bouncy", "swing"),
    ("jazz", "jazz"), ("funk", "funk"), ("soul", "funk"), ("r+b", "funk"), ("rb", "funk"),
    ("motown", "funk"), ("hip", "funk"), ("latin", "latin"), ("bossa", "latin"),
    ("salsa", "latin"), ("mambo", "latin"), ("samba", "latin"), ("afro", "latin"),
    ("country", "country"), ("western", "country"), ("rock", "rock"), ("metal", "rock"),
    ("twist", "rock"), ("pop", "pop"), ("8beat", "pop"), ("16beat", "pop"), ("beat", "pop"),
    ("dance", "pop"), ("disco", "pop"), ("techno", "pop"), ("trance", "pop"), ("house", "pop"),
    ("rave", "pop"), ("highfive", "pop"), ("punk", "rock"), ("hrk", "rock"), ("mtl", "rock"),
    ("rnb", "funk"), ("cntry", "country"), ("trip", "funk"), ("dnb", "pop"), ("fus", "jazz"),
)
LIBRARIES = ("stdlib", "casio", "yamaha", "zoom", "pflib", "kara")


def family_of(style: str) -> str | None:
    """Family of a style file id (``stdlib`` files by name, ``casio/16beat1`` by keyword)."""
    lib, _, stem = style.rpartition("/")
    if lib in ("", "stdlib"):
        return FILE_FAMILY.get(stem)
    low = stem.lower()
    for key, fam in FAMILY_KEYWORDS:
        if key in low:
            return fam
    return None

# Whole style files kept out of training, for the bench only (never used to tune anything):
# about one in seven, spread over the families.
HELD_OUT_FILES = (
    "60srock", "casio/rock2", "casio/8beatpop3", "zoom/dance", "casio/dancepop2", "rb",
    "casio/funk2", "kara/Kfunk1", "bossanova", "zoom/samba", "modernjazz", "yamaha/jazztrio",
    "fastswing", "casio/shufflerock", "jive", "zoom/country", "popballad", "casio/8beatballad2",
    "waltz", "yamaha/jazzwaltz", "casio/poppolka",
)


@dataclass
class Groove:
    """One MMA groove on a step grid.

    ``bars``: list of {voice: velocities uint8 [shape=(steps_per_bar,)], 0 = rest}, one per bar
    of the groove's sequence (MMA's SEQSIZE). ``kind``: main, fill, intro or end (from the name).
    """

    file: str
    family: str
    name: str
    kind: str
    meter: str
    steps_per_bar: int
    bars: list

    def to_json(self) -> dict:
        return {"file": self.file, "family": self.family, "groove": self.name, "kind": self.kind,
                "meter": self.meter, "steps_per_bar": self.steps_per_bar,
                "bars": [{v: encode_row(r) for v, r in sorted(bar.items())} for bar in self.bars]}

    @classmethod
    def from_json(cls, d: dict) -> "Groove":
        return cls(file=d["file"], family=d["family"], name=d["groove"], kind=d["kind"],
                   meter=d["meter"], steps_per_bar=d["steps_per_bar"],
                   bars=[{v: decode_row(s) for v, s in bar.items()} for bar in d["bars"]])


# ---- compact velocity rows ------------------------------------------------------------------

def encode_row(vel: np.ndarray) -> str:
    """Velocities [shape=(steps,)] -> one character a step: ``.`` rest, ``1``-``9`` velocity/14."""
    return "".join("." if v <= 0 else str(int(np.clip(round(v / 14.0), 1, 9))) for v in vel)


def decode_row(text: str) -> np.ndarray:
    """Inverse of :func:`encode_row` (velocity = digit x 14) -> uint8 [shape=(steps,)]."""
    return np.array([0 if c == "." else 14 * int(c) for c in text], dtype=np.uint8)


# ---- reading mma's expansion -----------------------------------------------------------------

def _kind(name: str) -> str:
    low = name.lower()
    for key in ("fill", "intro", "end"):
        if key in low:
            return key
    return "main"


def _groove_times(text: str) -> dict[str, tuple[int, str]]:
    """Groove name (lower case) -> (MMA Time, Timesig) in force where DefGroove defines it."""
    time, sig, out = 4, "4/4", {}
    for raw in text.splitlines():
        line = raw.split("//")[0].strip()
        m = re.match(r"(?i)^time\s+(\d+)", line)
        if m:
            time = int(m.group(1))
        m = re.match(r"(?i)^timesig\s+(\d+)\s*/?\s*(\d+)", line)
        if m:
            sig = f"{m.group(1)}/{m.group(2)}"
        m = re.match(r"(?i)^defgroove\s+(\S+)", line)
        if m:
            out[m.group(1).lower()] = (time, sig)
    return out


def _grid_options(time: int, sig: str) -> list[tuple[str, int]]:
    """(meter, steps per MMA beat) candidates, preferred first, for a Time / Timesig pair."""
    if sig == "6/8":
        if time == 2:
            return [("6/8", 6)]
        if time == 3:
            return [("6/8", 4)]
        if time == 6:
            return [("6/8", 2)]
        if time == 4:
            return [("12/8", 3)]
        return []
    if time == 4:
        return [("4/4", 4), ("12/8", 3)]
    if time == 3:
        return [("3/4", 4)]
    return []


def _parse_hits(seq: str) -> list[tuple[float, int]]:
    """``"1 1t 90 ; 2.5 0 70"`` -> [(beat offset from 0, volume)]."""
    out = []
    for item in seq.split(";"):
        parts = item.split()
        if len(parts) < 3:
            continue
        try:
            out.append((float(parts[0]) - 1.0, int(float(parts[-1]))))
        except ValueError:
            continue
    return out


def _tone_voice(tone: str) -> str | None:
    key = tone.strip().lower()
    note = int(key) if key.isdigit() else MMA_TONES.get(key)
    return GM_KEY_VOICE.get(note) if note is not None else None


def grooves_from_mma_json(data: list, *, file: str, family: str,
                          times: dict[str, tuple[int, str]]) -> list[Groove]:
    """Grooves of one style file from the parsed output of ``mma -Djs``."""
    out = []
    for g in data:
        name = g["groove"]
        time, sig = times.get(name.lower(), (4, "4/4"))
        size = int(g["size"])
        drum = [t for t in g["tracks"] if t["track"].upper().startswith("DRUM")]
        # (bar, voice, beat offset, volume) of every hit on one of our voices.
        hits = []
        for t in drum:
            for bar in range(size):
                voice = _tone_voice(t["voice"][bar % len(t["voice"])])
                if voice is None:
                    continue
                for pos, vol in _parse_hits(t["sequence"][bar % len(t["sequence"])]):
                    if 0 <= pos < time and vol > 0:
                        hits.append((bar, voice, pos, vol))
        if not any(v == "kick" for _, v, _, _ in hits):
            continue
        best = None
        for meter, per_beat in _grid_options(time, sig):
            err = sum(abs(p * per_beat - round(p * per_beat)) for _, _, p, _ in hits) / len(hits)
            if best is None or err < best[0] - 1e-9:
                best = (err, meter, per_beat)
        if best is None or best[0] > 0.12:
            continue  # a grid we do not model (5/4, 9/8, free timing)
        _, meter, per_beat = best
        steps = METERS[meter][0]
        if time * per_beat != steps:
            continue
        bars = [dict() for _ in range(size)]
        for bar, voice, pos, vol in hits:
            step = int(round(pos * per_beat)) % steps
            row = bars[bar].setdefault(voice, np.zeros(steps, np.uint8))
            row[step] = max(row[step], min(127, vol))
        if _kind(name) in ("intro", "end"):
            continue  # intros and endings are not grooves a part is built from
        out.append(Groove(file=file, family=family, name=name, kind=_kind(name), meter=meter,
                          steps_per_bar=steps, bars=bars))
    return out


def _mma_json(path: Path) -> list:
    proc = subprocess.run(["mma", "-Djs", str(path)], capture_output=True, text=True, timeout=120)
    text = proc.stdout
    if "[" not in text:
        return []
    return json.loads(text[text.index("["):])


def build_corpus(lib_dir: Path = MMA_LIB) -> dict:
    """Run ``mma -Djs`` over every style file with a family; returns the JSON-ready corpus.

    Raises InputError (one line) when mma or its style library is missing.
    """
    if shutil.which("mma") is None:
        raise InputError("mma is not installed (apt-get install mma); it is needed to rebuild "
                         "the groove corpus")
    lib_dir = Path(lib_dir)
    if not lib_dir.is_dir():
        raise InputError(f"{lib_dir}: MMA style library not found (apt-get install mma)")
    grooves, files = [], []
    paths = [p for lib in LIBRARIES for p in sorted((lib_dir / lib).glob("*.mma"))]
    for path in paths:
        style = path.stem if path.parent.name == "stdlib" else f"{path.parent.name}/{path.stem}"
        family = family_of(style)
        if family is None:
            continue
        times = _groove_times(path.read_text(errors="replace"))
        got = grooves_from_mma_json(_mma_json(path), file=style, family=family, times=times)
        if got:
            files.append(style)
        grooves.extend(got)
    return {"format": "producer-groove-corpus", "version": 1,
            "source": f"MMA style library ({lib_dir}), expanded by `mma -Djs`",
            "files": files, "held_out_files": list(HELD_OUT_FILES),
            "grooves": [g.to_json() for g in grooves]}


_CACHE: dict[str, list[Groove]] = {}


def load_corpus(path: Path | None = None) -> list[Groove]:
    """The committed corpus (or another file in the same format) as Groove objects."""
    key = str(path or CORPUS_PATH)
    if key not in _CACHE:
        p = Path(key)
        if not p.is_file():
            raise InputError(f"{p}: groove corpus missing; rebuild it with `producer drums corpus`")
        _CACHE[key] = [Groove.from_json(g) for g in json.loads(p.read_text())["grooves"]]
    return _CACHE[key]


def split(grooves: list[Groove]) -> tuple[list[Groove], list[Groove]]:
    """(training grooves, held-out grooves) by whole style file (HELD_OUT_FILES)."""
    train = [g for g in grooves if g.file not in HELD_OUT_FILES]
    held = [g for g in grooves if g.file in HELD_OUT_FILES]
    return train, held


def dump_corpus(data: dict) -> str:
    """The corpus as JSON text with one groove a line (small diffs when MMA changes)."""
    head = {k: v for k, v in data.items() if k != "grooves"}
    lines = [json.dumps(g, separators=(",", ":")) for g in data["grooves"]]
    text = json.dumps(head, separators=(",", ":"))[:-1]
    return text + ',"grooves":[\n' + ",\n".join(lines) + "\n]}\n"


def write_corpus(path: str | Path | None = None) -> tuple[Path, int, int]:
    """Rebuild the corpus from the installed mma and write it (default: the shipped file);
    returns (path, style files, grooves)."""
    data = build_corpus()
    path = Path(path or CORPUS_PATH)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(dump_corpus(data))
    tmp.replace(path)
    _CACHE.pop(str(path), None)
    return path, len(data["files"]), len(data["grooves"])
