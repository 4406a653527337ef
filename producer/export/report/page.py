"""The page itself: HTML text, tables of the search log, the summary and the skeleton, and the
facts every part of the page shares (preview rate, colours)."""
from __future__ import annotations

import html
import json
import math
from typing import Any

import numpy as np


# What the page embeds and draws.
PREVIEW_SR = 22050  # audio players and plots


RENDER_COLOUR = "#c2571a"


TARGET_COLOUR = "#1f5fa8"


SOURCE_COLOUR = "#888888"  # match's unprocessed source


LOG_BEST_ROWS = 10


LOG_LAST_ROWS = 20


LOG_ALL_ROWS = 1000


LOG_CELL_CHARS = 160


def _img(png_b64: str, alt: str) -> str:
    return f'<img src="data:image/png;base64,{png_b64}" alt="{_esc(alt)}">'


def _log_block(log: list[dict]) -> str:
    if not log:
        return '<p class="empty">The search log is empty.</p>'
    columns: list[str] = []
    for entry in log:
        for key in entry:
            if key not in columns:
                columns.append(key)
    parts = [f"<p>{len(log)} entries.</p>"]
    rewarded = [(i, e) for i, e in enumerate(log) if _is_number(e.get("reward"))]
    if rewarded:
        best = sorted(rewarded, key=lambda ie: -float(ie[1]["reward"]))[:LOG_BEST_ROWS]
        parts.append(f"<h3>Best {len(best)} by reward</h3>" + _log_table(columns, best))
    last = list(enumerate(log))[-LOG_LAST_ROWS:]
    parts.append(f"<h3>Last {len(last)}</h3>" + _log_table(columns, last))
    if len(log) > LOG_LAST_ROWS:
        shown = list(enumerate(log))[-LOG_ALL_ROWS:]
        note = "" if len(shown) == len(log) else f" (the last {len(shown)})"
        parts.append(f"<details><summary>All entries{note}</summary>" + _log_table(columns, shown) + "</details>")
    return "".join(parts)


def _log_table(columns: list[str], rows: list[tuple[int, dict]]) -> str:
    head = "<th>entry</th>" + "".join(f"<th>{_esc(c)}</th>" for c in columns)
    body = "".join(
        f"<tr><td>{i + 1}</td>" + "".join(f"<td>{_esc(_cell(e.get(c)))}</td>" for c in columns) + "</tr>"
        for i, e in rows
    )
    return f'<table class="log"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and math.isfinite(float(v))


def _num(v: Any) -> str:
    return f"{float(v):.4f}" if _is_number(v) else _cell(v)


def _cell(v: Any) -> str:
    if v is None:
        text = ""
    elif isinstance(v, (bool, np.bool_)):
        text = "yes" if v else "no"
    elif isinstance(v, (float, np.floating)):
        text = f"{float(v):.4g}"
    elif isinstance(v, (int, np.integer)):
        text = str(int(v))
    elif isinstance(v, str):
        text = v
    elif isinstance(v, dict):
        text = ", ".join(f"{k}={_cell(x)}" for k, x in v.items())
    elif isinstance(v, (list, tuple)):
        text = ", ".join(_cell(x) for x in v)
    else:
        try:
            text = json.dumps(v, default=str)
        except (TypeError, ValueError):
            text = str(v)
    return text if len(text) <= LOG_CELL_CHARS else text[: LOG_CELL_CHARS - 1] + "…"


def _esc(s: Any) -> str:
    return html.escape(str(s), quote=True)


def _section(heading: str, body: str) -> str:
    return f"<section><h2>{_esc(heading)}</h2>{body}</section>"


def _summary(target_seconds, target_sr, render_seconds, render_sr, project, rewards, history, log) -> str:
    best = history[-1][2] if history else None
    mean = float(np.mean(rewards)) if rewards else None
    clips = sum(len(t.clips) for t in project.tracks)
    items = [
        ("Best reward", _num(best) if best is not None else "—"),
        ("Mean window reward", _num(mean) if mean is not None else "—"),
        ("Target", f"{target_seconds:.2f} s at {target_sr} Hz"),
        ("Recreation", f"{render_seconds:.2f} s at {render_sr} Hz"),
        ("Arrangement", f"{len(project.tracks)} tracks, {clips} clips"),
        ("Best found", f"after {history[-1][1]} evaluations" if history else "—"),
    ]
    return _stats(items)


def _stats(items) -> str:
    """The summary tiles: [(label, value)] -> a section of label-over-value tiles."""
    cells = "".join(f'<div class="stat"><div class="k">{_esc(k)}</div><div class="v">{_esc(v)}</div></div>'
                    for k, v in items)
    return f'<section class="summary">{cells}</section>'


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #222; background: #fafafa; }}
main {{ max-width: 1240px; margin: 0 auto; padding: 16px 20px 48px; }}
h1 {{ font-size: 1.5em; margin: 0.4em 0 0.6em; }}
h2 {{ font-size: 1.15em; margin: 0 0 0.5em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }}
h3 {{ font-size: 1em; margin: 1em 0 0.4em; }}
section {{ background: #fff; border: 1px solid #e3e3e3; border-radius: 6px; padding: 12px 16px; margin: 0 0 16px; }}
img {{ width: 100%; height: auto; display: block; }}
.summary {{ display: flex; flex-wrap: wrap; gap: 8px 28px; }}
.stat .k {{ font-size: 0.8em; color: #666; }}
.stat .v {{ font-size: 1.15em; font-weight: 600; }}
.players {{ display: flex; flex-wrap: wrap; gap: 24px; }}
.player {{ flex: 1 1 360px; }}
.player h3 {{ margin: 0 0 6px; }}
audio {{ width: 100%; }}
.small {{ font-size: 0.85em; color: #555; }}
.empty {{ color: #888; font-style: italic; }}
.reward {{ font-size: 1.1em; }}
table.log {{ border-collapse: collapse; font-size: 0.85em; margin: 4px 0 8px; }}
table.log th, table.log td {{ border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }}
table.log th {{ background: #f2f2f2; }}
table.log tbody tr:nth-child(even) {{ background: #fafafa; }}
details {{ margin: 6px 0; }}
summary {{ cursor: pointer; color: #1f5fa8; }}
.swatch {{ display: inline-block; width: 0.8em; height: 0.8em; margin-right: 6px; border: 1px solid #333; vertical-align: -0.05em; }}
code {{ background: #f0f0f0; padding: 0 3px; border-radius: 3px; }}
</style>
</head>
<body>
<main>
<h1>{title}</h1>
{body}
</main>
</body>
</html>
"""
