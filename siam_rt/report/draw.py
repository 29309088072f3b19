"""Inline SVG drawings of an encoding: the context vector as bars, the per-segment contexts as a heatmap, and the
timeline, where each event is a column of 16 coloured cells (its vector) that plays the event when clicked."""

from __future__ import annotations

from html import escape

import numpy as np

from siam_rt.analysis.timeline import Encoding

_NEG, _MID, _POS = np.array([33, 102, 172]), np.array([247, 247, 247]), np.array([178, 24, 43])

CELL_W, CELL_H = 7, 5  # one event vector cell, in pixels
LANES = 4


def colour(value: float, scale: float) -> str:
    """Diverging colour of ``value``: blue below zero, white at zero, red above; saturated at +-scale."""
    t = float(np.clip(value / scale, -1.0, 1.0)) if scale > 0 else 0.0
    rgb = _MID + (t if t > 0 else -t) * ((_POS if t > 0 else _NEG) - _MID)
    return "#{:02x}{:02x}{:02x}".format(*np.round(rgb).astype(int))


def robust_scale(values: np.ndarray) -> float:
    """The 95th percentile of |values|: a colour scale that one outlier does not wash out."""
    return float(np.percentile(np.abs(values), 95)) if values.size else 1.0


def context_bars(context: np.ndarray, width: int = 400, height: int = 130) -> str:
    """The context vector as bars up (positive) and down (negative) from a zero line, labelled by dimension."""
    n = len(context)
    scale = float(np.abs(context).max()) or 1.0
    bw = (width - 20) / n
    mid = (height - 16) / 2
    parts = [f'<svg class="context" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="global context vector">',
             f'<line x1="10" x2="{width - 10}" y1="{mid:.1f}" y2="{mid:.1f}" class="axis"/>']
    for i, v in enumerate(context):
        h = abs(v) / scale * (mid - 4)
        y = mid - h if v >= 0 else mid
        parts.append(f'<rect x="{10 + i * bw + 1:.1f}" y="{y:.1f}" width="{bw - 2:.1f}" height="{max(h, 0.5):.1f}" '
                     f'fill="{colour(v, scale)}" stroke="#555" stroke-width="0.5"><title>dimension {i}: {v:.4g}'
                     f'</title></rect>')
        parts.append(f'<text x="{10 + (i + 0.5) * bw:.1f}" y="{height - 3}" class="label">{i}</text>')
    parts.append("</svg>")
    return "".join(parts)


def context_heatmap(contexts: np.ndarray, segment_seconds: float, width: int = 400) -> str:
    """Per-segment contexts: one column per segment (half a segment apart), one row per dimension."""
    s, c = contexts.shape
    cw = max(2.0, min(16.0, width / max(s, 1)))
    scale = robust_scale(contexts - contexts.mean(axis=0))
    centred = contexts - contexts.mean(axis=0)
    w, h = int(cw * s) + 2, c * 6 + 2
    parts = [f'<svg class="heatmap" width="{w}" height="{h}" role="img" aria-label="context per segment">']
    for j in range(s):
        for d in range(c):
            parts.append(f'<rect x="{1 + j * cw:.1f}" y="{1 + d * 6}" width="{cw:.1f}" height="6" '
                         f'fill="{colour(centred[j, d], scale)}"/>')
        parts.append(f'<rect x="{1 + j * cw:.1f}" y="1" width="{cw:.1f}" height="{c * 6}" fill="transparent">'
                     f'<title>segment {j} from {j * segment_seconds / 2:.2f} s</title></rect>')
    parts.append("</svg>")
    return "".join(parts)


def _lanes(xs: np.ndarray, width: float) -> list[int]:
    """A lane per event so that columns overlap as little as possible (greedy; the freest lane when all are
    taken)."""
    ends = [-1e9] * LANES
    lanes = []
    for x in xs:
        free = [k for k in range(LANES) if ends[k] <= x]
        k = free[0] if free else int(np.argmin(ends))
        ends[k] = x + width + 1
        lanes.append(k)
    return lanes


def pixels_per_second(duration: float, events_per_second: float) -> float:
    """Timeline scale: room for the events (about 12 px per event per second), at least 1100 px overall."""
    pps = float(np.clip(events_per_second * 12, 40, 160))
    return float(min(max(pps, 1100 / max(duration, 1e-3)), 400))


def timeline(enc: Encoding, section_id: str, clips: dict[int, str], envelope: np.ndarray, envelope_hop: float,
             offset: float = 0.0) -> str:
    """The events over time: x = time, each event a column of its vector's cells with its amplitude as a bar
    below; events with a clip are buttons (``data-audio`` names their audio element). The original's loudness
    envelope is drawn behind, and a playhead line follows the section's tracks."""
    pps = pixels_per_second(enc.duration, len(enc.events) / max(enc.duration, 1e-3))
    x0 = 10
    xs = np.array([x0 + e.time * pps for e in enc.events])
    lanes = _lanes(xs, CELL_W)
    col_h = CELL_H * (len(enc.events[0].vector) if enc.events else 16)
    lane_h = col_h + 12
    top = 18
    width = int(enc.duration * pps) + 2 * CELL_W + 20
    height = top + (max(lanes, default=0) + 1) * lane_h + 6
    vectors = np.stack([e.vector for e in enc.events]) if enc.events else np.zeros((0, 16))
    scale = robust_scale(vectors)
    amp_max = max((e.amplitude for e in enc.events), default=1.0) or 1.0
    parts = [f'<svg class="timeline" width="{width}" height="{height}" data-pps="{pps:.4f}" data-x0="{x0}" '
             f'role="group" aria-label="timeline of events">']
    if len(envelope):
        env = envelope / (envelope.max() or 1.0)
        pts = " ".join(f"{x0 + i * envelope_hop * pps:.1f},{height - 4 - v * (height - top - 8):.1f}"
                       for i, v in enumerate(env))
        parts.append(f'<polyline class="envelope" points="{x0},{height - 4} {pts} '
                     f'{x0 + len(env) * envelope_hop * pps:.1f},{height - 4}"/>')
    step = 1 if enc.duration <= 20 else 5 if enc.duration <= 120 else 30
    for s in range(int(np.ceil(offset / step)) * step, int(offset + enc.duration) + 1, step):
        x = x0 + (s - offset) * pps
        label = f"{s // 60}:{s % 60:02d}" if offset + enc.duration >= 60 else f"{s} s"
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="12" y2="{height}" class="tick"/>'
                     f'<text x="{x + 2:.1f}" y="10" class="label">{label}</text>')
    for i, (e, x, lane) in enumerate(zip(enc.events, xs, lanes, strict=True)):
        y = top + lane * lane_h
        clip = clips.get(i)
        attrs = (f' data-audio="{section_id}-e{i}" tabindex="0" role="button"' if clip else ' aria-disabled="true"')
        title = (f"event {i} · {offset + e.time:.3f} s · amplitude {e.amplitude:.3g} · segment {e.segment}, "
                 f"frame {e.frame}" + ("" if clip else " · no clip (beyond the cap of playable events)"))
        cells = "".join(f'<rect y="{d * CELL_H}" width="{CELL_W}" height="{CELL_H}" fill="{colour(v, scale)}"/>'
                        for d, v in enumerate(e.vector))
        bar = max(1.0, 8 * e.amplitude / amp_max)
        parts.append(f'<g class="event{"" if clip else " mute"}" data-index="{i}" transform="translate({x:.1f},{y})"'
                     f'{attrs}><title>{escape(title)}</title>{cells}<rect class="frame" width="{CELL_W}" '
                     f'height="{col_h}"/><rect class="amp" y="{col_h + 2}" width="{CELL_W}" height="{bar:.1f}"/></g>')
    parts.append(f'<line class="playhead" x1="{x0}" x2="{x0}" y1="12" y2="{height}"/>')
    parts.append("</svg>")
    return "".join(parts)
