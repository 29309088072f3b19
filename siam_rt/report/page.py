"""The report's index.html: one section per recording like the seed's page, with inline CSS, SVG and a plain
script, so it works opened from file:// with no network (no fetch, no modules, audio by relative paths)."""

from __future__ import annotations

from datetime import datetime, timezone
from html import escape
from importlib.resources import files

from siam_rt import __version__
from siam_rt.report.draw import context_bars, context_heatmap, timeline
from siam_rt.report.section import ENVELOPE_HOP, TRACKS, Limits, Section


def _clock(seconds: float) -> str:
    m, s = divmod(seconds, 60)
    return f"{int(m)}:{s:04.1f}"


def _asset(name: str) -> str:
    return files("siam_rt.report").joinpath(name).read_text()


def section_html(sec: Section, limits: Limits, segment_seconds: float) -> str:
    """One recording's section."""
    sid = f"s{sec.number}"
    enc = sec.encoding
    n = len(enc.events)
    window = (f"analysed {_clock(sec.window_start)}–{_clock(sec.window_start + sec.duration)} of "
              f"{_clock(sec.file_duration)}: the report takes a window of at most {limits.window:g} s of each "
              f"recording" if sec.windowed else f"{sec.duration:.1f} s, analysed whole")
    out = [f'<section class="input" id="{sid}" data-events="{n}" data-clips="{len(sec.clips)}">',
           f"<h2>{sec.number}. {escape(sec.name)}</h2>",
           f'<p class="counts"><b>{n}</b> events · <b>{sec.events_per_second:.2f}</b> events per second · '
           f"{len(enc.contexts)} segments</p>",
           f'<p class="meta">{escape(window)}. <a href="{escape(sec.folder)}/encoding.siam.json">encoding</a> '
           f"(.siam.json)</p>"]
    out += [f'<p class="warning">{escape(w)}</p>' for w in sec.warnings]
    out.append('<div class="tracks">')
    for stem, title, note in TRACKS:
        small = f"<small>{escape(note)}</small>" if note else ""
        out.append(f'<figure><figcaption>{escape(title)}{small}</figcaption><audio id="{sid}-{stem}" controls '
                   f'preload="metadata" src="{escape(sec.tracks[stem])}"></audio></figure>')
    out.append("</div>")
    out.append('<div class="vectors"><div><h3>Global context vector for the original</h3>'
               f"{context_bars(enc.context)}</div>")
    if len(enc.contexts) > 1:
        out.append(f"<div><h3>Context per segment</h3>{context_heatmap(enc.contexts, segment_seconds)}"
                   '<p class="hint">each column a segment, each row a dimension, centred on the mean</p></div>')
    out.append("</div>")
    capped = (f" The {len(sec.clips)} loudest of the {n} events can be played (at most {limits.max_events} per "
              f"recording); the others are drawn faint." if len(sec.clips) < n else "")
    out.append("<h3>Timeline</h3>")
    out.append(f'<p class="hint">Individual events can be played by clicking on their vectors (each column: one '
               f"event's {enc.contexts.shape[1] if n == 0 else len(enc.events[0].vector)} numbers, blue negative, "
               f"red positive; the bar below: its amplitude). A clip is the event alone, dry, in its segment's "
               f"context: its first {limits.clip_seconds:g} s, normalised.{capped}</p>")
    if n == 0:
        out.append('<p class="meta">No events: the recording is silent (or too quiet) in this window.</p>')
    out.append(f'<div class="scroll">{timeline(enc, sid, sec.clips, sec.envelope, ENVELOPE_HOP, sec.window_start)}'
               "</div>")
    out.append('<div class="clips" hidden>')
    out += [f'<audio id="{sid}-e{i}" preload="none" src="{escape(path)}"></audio>' for i, path in sec.clips.items()]
    out.append("</div></section>")
    return "\n".join(out)


def page_html(sections: list[Section], limits: Limits, model_id: str, sample_rate: int, segment: int) -> str:
    """The whole page."""
    made = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    nav = " ".join(f'<a href="#s{s.number}">{s.number}. {escape(s.name)}</a>' for s in sections)
    bounds = (f"To keep the report small, each recording is analysed over a window of at most {limits.window:g} s "
              f"(from {limits.start:g} s; <code>--window</code>, <code>--start</code>), at most "
              f"{limits.max_events} events per recording get a clip (<code>--max-events</code>), and a clip is the "
              f"first {limits.clip_seconds:g} s of its event. All audio is at the model's rate, {sample_rate} Hz "
              f"mono, as Ogg Vorbis.")
    body = "\n".join(section_html(s, limits, segment / sample_rate) for s in sections)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>siam-rt report: {escape(", ".join(s.name for s in sections))}</title>
<style>
{_asset("page.css")}
</style>
</head>
<body>
<header>
<h1>Sparse interpretable audio: {len(sections)} recording{"s" if len(sections) != 1 else ""}</h1>
<p class="meta">Each recording is decomposed into a global context vector (the room and timbre) and a sparse set of
events, each a time, an amplitude and a 16-number vector. Made {made} by siam-rt {__version__} with model
<code>{model_id[:12]}</code>.</p>
<p class="bounds">{bounds}</p>
<nav>{nav}</nav>
</header>
<main>
{body}
</main>
<script>
{_asset("page.js")}
</script>
</body>
</html>
"""
