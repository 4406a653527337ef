"""A listening session: the versions played, the pairs asked, the answers given, kept in a session
folder as they happen so that a stopped session resumes where it was.

Session folder (``DIR.tune-session/`` beside ``--out`` unless ``--session`` says otherwise)::

    session.json     settings: project file, tuned knobs, passage length, seed, budget, --out
    project.json     the project as it was when the session started (the origin of every version)
    versions.jsonl   one line per version rendered: id, unit-cube point, real knob values
    pairs.jsonl      one line per pair asked: id, version ids of A and B
    answers.jsonl    one line per answer: pair, choice, rating, time, favourite after it
    audio/vNNNN.wav  each version's passage, 16-bit stereo WAV

Lines are appended and flushed as they happen; nothing is rewritten (a last line cut short by a
kill is dropped on resume). Resuming replays
answers.jsonl into a fresh model, which gives the same favourite and the same next pair (every
pair's random draws come from ``(seed, pair number)``).

This module never imports the renderer: the caller hands it ``render(project) -> (mix, sr)``
(mix [shape=(2, n)] float) and ``save(project, info) -> Path``.
"""
from __future__ import annotations

import json
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from producer.audio import write_audio
from producer.errors import InputError
from producer.project import Project, load_project
from producer.tune.model import PreferenceModel
from producer.tune.params import Knob, all_knobs, apply_unit, current_unit, passage, real_values

FORMAT = "producer-tune-session"
VERSION = 1
CHOICES = ("a", "b", "both", "neither")
VERSION_ID = re.compile(r"^v\d{4,6}$")
PAIR_ID = re.compile(r"^p\d{4,6}$")
# The passage's audio runs this long past its end so reverb and echo tails are heard, then fades.
TAIL_SECONDS = 1.0
FADE_SECONDS = 0.05


class SessionError(InputError):
    """A request the session cannot take (unknown pair, spent budget, ...). ``status`` is the
    HTTP status the server answers with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Settings:
    project_file: str  # absolute path of the project the session tunes (its folder resolves samples)
    knobs: tuple[str, ...]
    seconds: float  # passage length played (s)
    seed: int
    budget: int  # answers after which no new pair is asked
    out: str  # where "save" writes the favourite

    def to_dict(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "project_file": self.project_file,
                "knobs": list(self.knobs), "seconds": self.seconds, "seed": self.seed,
                "budget": self.budget, "out": self.out}


def read_settings(folder: str | os.PathLike) -> Settings:
    """Settings of an existing session folder; InputError naming what is wrong."""
    folder = Path(folder)
    path = folder / "session.json"
    if not path.is_file():
        raise InputError(f"--resume {folder}: not a tune session folder (no session.json)")
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: unreadable ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("version") != VERSION:
        raise InputError(f"{path}: not a version-{VERSION} {FORMAT} file")
    try:
        return Settings(str(data["project_file"]), tuple(str(k) for k in data["knobs"]), float(data["seconds"]),
                        int(data["seed"]), int(data["budget"]), str(data["out"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{path}: bad or missing field ({exc})") from None


def _read_jsonl(path: Path) -> list[dict]:
    """The rows of a journal. A line cut short by a kill (and anything after it) is dropped from
    the file too, so that the lines appended next are read on the next resume."""
    if not path.is_file():
        return []
    rows = []
    good = 0  # bytes of whole, valid lines
    data = path.read_bytes()
    for line in data.splitlines(keepends=True):
        try:
            if not line.endswith(b"\n"):
                raise ValueError("cut short")
            if line.strip():
                row = json.loads(line)
                if not isinstance(row, dict):
                    raise ValueError("not an object")
                rows.append(row)
        except ValueError:
            break
        good += len(line)
    if good < len(data):
        with open(path, "r+b") as f:
            f.truncate(good)
    return rows


class TuneSession:
    """One listener's session over one project. Thread-safe: the server calls it from several
    request threads.

    project : the project as the session started; knobs : what is tuned; folder : the session
    folder (created by ``create``); render : project -> (mix [shape=(2, n)], sample rate);
    save : (project, info dict) -> Path of the written folder.
    """

    def __init__(self, folder: Path, project: Project, knobs: list[Knob], settings: Settings, *,
                 render: Callable[[Project], tuple[np.ndarray, int]],
                 save: Callable[[Project, dict], Path]):
        self.folder = Path(folder)
        self.project = project
        self.knobs = knobs
        self.settings = settings
        self._render = render
        self._save = save
        self._lock = threading.RLock()
        self.model = PreferenceModel(len(knobs))
        self.versions: list[dict] = []  # {"id", "x", "values"}, in model point order
        self.pairs: list[dict] = []  # {"pair", "a", "b"}
        self.answers: list[dict] = []
        self.saved: list[str] = []
        self.last_render_seconds = 0.0
        # Speculation: while the listener listens, the next challenger for each possible answer
        # is rendered ahead (``prepare_next``); unit-cube point bytes -> prepared audio file.
        self._prepared: dict[bytes, Path] = {}
        self._todo: list[np.ndarray] | None = None

    # --- opening -----------------------------------------------------------------------------
    @classmethod
    def create(cls, folder, project: Project, knobs: list[Knob], settings: Settings, **hooks) -> "TuneSession":
        """Start a new session in ``folder`` (absent or empty), rendering the first pair."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "audio").mkdir(exist_ok=True)
        project.save(folder / "project.json")
        (folder / "session.json").write_text(json.dumps(settings.to_dict(), indent=2) + "\n")
        session = cls(folder, project, knobs, settings, **hooks)
        with session._lock:
            session._add_version(current_unit(project, knobs))
            session._next_pair()
        return session

    @classmethod
    def resume(cls, folder, settings: Settings, **hooks) -> "TuneSession":
        """Reopen ``folder``: replay its answers, re-render any audio that is missing."""
        folder = Path(folder)
        project = load_project(folder / "project.json")
        by_name = {k.name: k for k in all_knobs(project)}
        missing = [n for n in settings.knobs if n not in by_name]
        if missing:
            raise InputError(f"{folder}/session.json: knob {missing[0]!r} is not in its project.json")
        knobs = [by_name[n] for n in settings.knobs]
        session = cls(folder, project, knobs, settings, **hooks)
        (folder / "audio").mkdir(exist_ok=True)
        for stale in (folder / "audio").glob(".*.wav"):  # guesses and parts of a stopped run
            stale.unlink()
        with session._lock:
            for row in _read_jsonl(folder / "versions.jsonl"):
                session._add_version(np.asarray(row["x"], dtype=np.float64), vid=row["id"], record=False)
            pairs = _read_jsonl(folder / "pairs.jsonl")
            known = {v["id"] for v in session.versions}
            session.pairs = [p for p in pairs if p.get("a") in known and p.get("b") in known]
            for row in _read_jsonl(folder / "answers.jsonl"):
                pair = session._pair(row.get("pair"))
                if pair is None or row.get("choice") not in CHOICES:
                    continue
                session._apply_answer(pair, row["choice"], row.get("rating"))
                session.answers.append(row)
            if not session.versions:
                session._add_version(current_unit(project, knobs))
            if session._pending() is None:
                session._next_pair()
        return session

    # --- versions and pairs --------------------------------------------------------------------
    def _version(self, vid: str) -> dict | None:
        for v in self.versions:
            if v["id"] == vid:
                return v
        return None

    def _pair(self, pid) -> dict | None:
        for p in self.pairs:
            if p["pair"] == pid:
                return p
        return None

    def _pending(self) -> dict | None:
        answered = {a["pair"] for a in self.answers}
        for p in reversed(self.pairs):
            if p["pair"] not in answered:
                return p
        return None

    def audio_path(self, vid: str) -> Path:
        return self.folder / "audio" / f"{vid}.wav"

    def _add_version(self, x: np.ndarray, *, vid: str | None = None, record: bool = True) -> dict:
        index = self.model.add_point(x)
        if index < len(self.versions):
            return self.versions[index]
        x = self.model.points[index]
        version = {"id": vid or f"v{index:04d}", "x": [float(u) for u in x],
                   "values": real_values(self.knobs, x)}
        self.versions.append(version)
        self._ensure_audio(version)
        if record:
            with open(self.folder / "versions.jsonl", "a") as f:
                f.write(json.dumps(version, sort_keys=True) + "\n")
        return version

    def _ensure_audio(self, version: dict) -> None:
        path = self.audio_path(version["id"])
        if path.is_file():
            return
        prepared = self._prepared.pop(np.array(version["x"]).tobytes(), None)
        if prepared is not None and prepared.is_file():
            os.replace(prepared, path)
            return
        started = time.perf_counter()
        self._write_passage(np.array(version["x"]), path)
        self.last_render_seconds = time.perf_counter() - started

    def _write_passage(self, x: np.ndarray, path: Path) -> None:
        project = apply_unit(passage(self.project, self.settings.seconds), self.knobs, x)
        mix, sr = self._render(project)
        # Every version lasts the same: the passage (or the whole project if shorter) plus the tail.
        n = int(round((min(self.settings.seconds, self.project.end) + TAIL_SECONDS) * sr))
        audio = np.zeros((2, n), dtype=np.float32)
        audio[:, : min(n, mix.shape[1])] = mix[:, :n]
        fade = min(n, int(FADE_SECONDS * sr))
        if fade:
            audio[:, n - fade :] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
        tmp = path.with_name(f".part-{path.name}")
        write_audio(tmp, np.clip(audio, -1.0, 1.0), sr, subtype="PCM_16")
        os.replace(tmp, path)  # a reader never sees a half-written file

    def _speculations(self) -> list[np.ndarray]:
        """The challengers the next pair would bring after each possible answer (without a
        rating) to the waiting pair: the same draws ``_next_pair`` will make."""
        pending = self._pending()
        if pending is None or len(self.answers) + 1 >= self.settings.budget:
            return []
        rng_seed = [self.settings.seed, len(self.pairs) + 1]
        points = []
        for choice in CHOICES:
            model = self.model.copy()
            self._apply_answer(pending, choice, None, model=model)
            model.fit()
            best, x = model.propose(np.random.default_rng(rng_seed))
            x = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
            if not any(np.array_equal(x, p) for p in model.points) and not any(np.array_equal(x, p) for p in points):
                points.append(x)
        return points

    def prepare_next(self) -> bool:
        """Render one challenger of the next pair ahead of the answer. Returns False when there
        is nothing left to prepare (or a request holds the session). Called by the server's render
        thread when it is idle.

        Never waits for the session's lock: a request that holds it may be waiting for this very
        thread to render, so waiting here would deadlock.
        """
        if not self._lock.acquire(blocking=False):
            return False
        try:
            if self._todo is None:
                self._todo = self._speculations()
            while self._todo and self._todo[0].tobytes() in self._prepared:
                self._todo.pop(0)
            if not self._todo:
                return False
            x = self._todo.pop(0)
            asked = len(self.pairs)
            path = self.folder / "audio" / f".next-{asked + 1}-{len(self._prepared)}.wav"
        finally:
            self._lock.release()
        self._write_passage(x, path)  # outside the lock: requests go on meanwhile
        if not self._lock.acquire(blocking=False):
            path.unlink(missing_ok=True)  # a request is under way: drop the guess
            return True
        try:
            if len(self.pairs) != asked:  # answered meanwhile: this guess is stale
                path.unlink(missing_ok=True)
            else:
                self._prepared[x.tobytes()] = path
        finally:
            self._lock.release()
        return True

    def _forget_prepared(self) -> None:
        for path in self._prepared.values():
            path.unlink(missing_ok=True)
        self._prepared = {}
        self._todo = None

    def _next_pair(self) -> dict | None:
        """Ask the next pair (rendering the new version), unless the budget is spent."""
        if len(self.answers) >= self.settings.budget:
            return None
        number = len(self.pairs) + 1
        rng = np.random.default_rng([self.settings.seed, number])
        best, x = self.model.propose(rng)
        challenger = self._add_version(x)
        if challenger["id"] == self.versions[best]["id"]:  # degenerate proposal: any other point
            challenger = self._add_version(rng.random(len(self.knobs)))
        favourite = self.versions[best]
        a, b = (favourite, challenger) if rng.random() < 0.5 else (challenger, favourite)
        pair = {"pair": f"p{number:04d}", "a": a["id"], "b": b["id"]}
        self.pairs.append(pair)
        with open(self.folder / "pairs.jsonl", "a") as f:
            f.write(json.dumps(pair, sort_keys=True) + "\n")
        return pair

    def _index(self, vid: str) -> int:
        return next(i for i, v in enumerate(self.versions) if v["id"] == vid)

    def _apply_answer(self, pair: dict, choice: str, rating, *, model: PreferenceModel | None = None) -> None:
        model = self.model if model is None else model
        ia, ib = self._index(pair["a"]), self._index(pair["b"])
        if choice == "a":
            model.prefer(ia, ib)
        elif choice == "b":
            model.prefer(ib, ia)
        elif choice == "both":
            model.tie(ia, ib)
            model.level(ia, +1)
            model.level(ib, +1)
        else:
            model.level(ia, -1)
            model.level(ib, -1)
        if rating is not None and rating != 3:
            rated = {"a": (ia,), "b": (ib,)}.get(choice, (ia, ib))
            for i in rated:
                model.level(i, +1 if rating > 3 else -1)

    # --- the API -----------------------------------------------------------------------------
    def pair(self) -> dict:
        """The pair waiting for an answer: {"pair", "a": {"id", "audio"}, "b": {...}, "number"}."""
        with self._lock:
            pending = self._pending()
            if pending is None:
                raise SessionError(f"the budget of {self.settings.budget} answers is spent: save the favourite, "
                                   "or resume the session with a larger --budget", status=409)
            for side in ("a", "b"):
                self._ensure_audio(self._version(pending[side]))
            return self._pair_json(pending)

    def _pair_json(self, pair: dict) -> dict:
        return {"pair": pair["pair"], "number": self.pairs.index(pair) + 1, "budget": self.settings.budget,
                "a": {"id": pair["a"], "audio": f"/audio/{pair['a']}.wav"},
                "b": {"id": pair["b"], "audio": f"/audio/{pair['b']}.wav"}}

    def answer(self, pair_id, choice, rating=None) -> dict:
        """Take an answer to the waiting pair; returns {"state": ..., "next": pair or None}.
        Raises SessionError (nothing changed) for an unknown or answered pair, a bad choice or
        rating."""
        if not isinstance(pair_id, str) or not PAIR_ID.match(pair_id):
            raise SessionError(f"pair: expected a pair id like 'p0001', got {pair_id!r}")
        if choice not in CHOICES:
            raise SessionError(f"choice: expected one of {', '.join(CHOICES)}, got {choice!r}")
        if rating is not None and (isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5):
            raise SessionError(f"rating: expected an integer 1-5 or nothing, got {rating!r}")
        with self._lock:
            pair = self._pair(pair_id)
            if pair is None:
                raise SessionError(f"pair {pair_id!r} is unknown to this session", status=404)
            if pair is not self._pending():
                raise SessionError(f"pair {pair_id!r} was already answered; answer the waiting pair", status=409)
            before = self.versions[self.model.favourite()]["id"]
            self._apply_answer(pair, choice, rating)
            self.model.fit()
            row = {"pair": pair_id, "choice": choice, "rating": rating, "a": pair["a"], "b": pair["b"],
                   "favourite_before": before, "favourite": self.versions[self.model.favourite()]["id"],
                   "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            with open(self.folder / "answers.jsonl", "a") as f:
                f.write(json.dumps(row, sort_keys=True) + "\n")
                f.flush()
                os.fsync(f.fileno())
            self.answers.append(row)
            nxt = self._next_pair()
            self._forget_prepared()
            return {"state": self.state(), "next": self._pair_json(nxt) if nxt else None}

    def state(self) -> dict:
        """Favourite, its values and the model's certainty, the history, the budget."""
        with self._lock:
            best = self.model.favourite()
            fav = self.versions[best]
            certainty: dict = {"answers": len(self.answers)}
            if self.answers:
                rng = np.random.default_rng([self.settings.seed, 0, len(self.answers)])
                p_best = self.model.p_best(rng)
                mean, cov = self.model.posterior_at_points()
                fit = self.model.fitted
                certainty.update({
                    "p_best": round(float(p_best[best]), 3),
                    "sd": round(float(np.sqrt(max(cov[best, best], 0.0))), 3),
                    "lengthscale": fit.lengthscale, "noise": fit.noise,
                })
                ranking = [{"id": self.versions[i]["id"], "mean": round(float(mean[i]), 3),
                            "sd": round(float(np.sqrt(max(cov[i, i], 0.0))), 3),
                            "p_best": round(float(p_best[i]), 3)}
                           for i in np.argsort(-mean)[:8]]
            else:
                ranking = []
            pending = self._pending()
            return {
                "favourite": {"id": fav["id"], "audio": f"/audio/{fav['id']}.wav", "values": fav["values"],
                              "start_values": self.versions[0]["values"]},
                "certainty": certainty,
                "ranking": ranking,
                "history": [{k: a.get(k) for k in ("pair", "a", "b", "choice", "rating", "favourite")}
                            for a in self.answers],
                "answers": len(self.answers),
                "budget": self.settings.budget,
                "done": pending is None,
                "pending": pending["pair"] if pending else None,
                "knobs": [k.to_dict() for k in self.knobs],
                "versions": len(self.versions),
                "saved": list(self.saved),
                "out": self.settings.out,
            }

    def favourite_project(self) -> Project:
        """The whole project (not only the passage) at the favourite's setting."""
        with self._lock:
            x = np.array(self.versions[self.model.favourite()]["x"])
        return apply_unit(self.project, self.knobs, x)

    def save(self) -> dict:
        """Write the favourite as a project folder through the ``save`` hook."""
        with self._lock:
            fav = self.versions[self.model.favourite()]
            info = {"favourite": fav["id"], "values": fav["values"], "answers": len(self.answers),
                    "session": str(self.folder.resolve())}
            path = self._save(self.favourite_project(), info)
            self.saved.append(str(path))
            return {"saved": str(path), "favourite": fav["id"], "values": fav["values"]}
