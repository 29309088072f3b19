"""`siam-rt report` driven in real headless Chromium from file://: every audio element loads and is not silent, the
timeline has one clickable element per event, a click plays that event, no network; bounded long inputs; bad
input leaves no half-written report."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from audio_helpers import plucks, write
from conftest import Cli

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--autoplay-policy=no-user-gesture-required"]
SCREENSHOT_DIR = Path(os.environ.get("SIAM_RT_SCREENSHOTS", Path(__file__).resolve().parent.parent / "tmp"))


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A report of two recordings: stereo 44.1 kHz WAV, and a mono 48 kHz Ogg file named .mp3."""
    d = tmp_path_factory.mktemp("report")
    a, _ = plucks(6.0, 44100, channels=2, seed=1)
    b, _ = plucks(4.0, 48000, seed=2)
    inputs = [write(d / "stereo.wav", a, 44100), write(d / "ogg-named.mp3", b, 48000, format="OGG")]
    proc = Cli()("report", *map(str, inputs), "-o", str(d / "out"), timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith(f"wrote {d / 'out' / 'index.html'}")
    return d / "out"


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, through playwright (never a downloaded browser)."""
    if not CHROMIUM.exists():
        pytest.skip("Chromium not installed: apt-get install chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, report: Path):
    """The report's page, opened from file://, with its requests and script errors recorded."""
    pg = browser.new_page(viewport={"width": 1280, "height": 900})
    pg.requests, pg.errors = [], []
    pg.on("request", lambda r: pg.requests.append(r.url))
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.goto((report / "index.html").as_uri())
    yield pg
    pg.close()


def _sections(report: Path) -> list[Path]:
    return sorted(p for p in report.iterdir() if p.is_dir())


LOAD_ALL = """async () => {
  const audios = Array.from(document.querySelectorAll('audio'));
  return await Promise.all(audios.map(a => new Promise(done => {
    const finish = () => done({id: a.id, src: a.getAttribute('src'), duration: a.duration, error: !!a.error});
    if (a.readyState >= 1) { finish(); return; }
    a.addEventListener('loadedmetadata', finish, {once: true});
    a.addEventListener('error', finish, {once: true});
    a.preload = 'auto';
    a.load();
  })));
}"""


def test_every_audio_element_loads_and_is_not_silent(page, report: Path) -> None:
    """Every track and clip: Chromium reads a duration > 0; its file decodes to audio that is not silence."""
    audios = page.evaluate(LOAD_ALL)
    n_events = sum(len(json.loads((s / "encoding.siam.json").read_text())["events"]) for s in _sections(report))
    assert len(audios) == 2 * 5 + n_events
    for a in audios:
        assert not a["error"] and a["duration"] > 0, a
        audio, rate = sf.read(str(report / a["src"]), dtype="float32")
        assert rate == 22050 and len(audio) > 0
        assert np.sqrt(np.mean(audio ** 2)) > 1e-3, f"{a['src']} is silent"
        if "/events/" in a["src"]:
            assert a["duration"] <= 0.8
    assert page.errors == []


def test_timeline_has_one_clickable_element_per_event(page, report: Path) -> None:
    for number, folder in enumerate(_sections(report), 1):
        events = json.loads((folder / "encoding.siam.json").read_text())["events"]
        sid = f"s{number}"
        clickable = page.locator(f"#{sid} svg.timeline .event[data-audio]")
        assert clickable.count() == len(events) > 0
        assert page.locator(f"#{sid} svg.timeline .event").count() == len(events)
        ids = page.eval_on_selector_all(f"#{sid} .event[data-audio]", "els => els.map(e => e.dataset.audio)")
        assert ids == [f"{sid}-e{i}" for i in range(len(events))]
        assert page.locator(f"#{sid}").get_attribute("data-events") == str(len(events))
        counts = page.locator(f"#{sid} .counts").inner_text()
        assert f"{len(events)} events" in counts and "events per second" in counts


def test_clicking_an_event_plays_it(page) -> None:
    """A click starts that event's audio element (its currentTime advances); a second click switches to another."""
    events = page.locator("#s1 .event[data-audio]")
    n = events.count()
    for k in (0, n // 2, n - 1):
        g = events.nth(k)
        g.scroll_into_view_if_needed()
        audio_id = g.get_attribute("data-audio")
        g.click()
        page.wait_for_function(f"document.getElementById('{audio_id}').currentTime > 0.05", timeout=5000)
        state = page.evaluate(f"(() => {{ const a = document.getElementById('{audio_id}'); "
                              f"return {{t: a.currentTime, paused: a.paused, ended: a.ended}}; }})()")
        assert state["t"] > 0.05 and (not state["paused"] or state["ended"])
        assert "playing" in (g.get_attribute("class") or "")
        others = page.evaluate(f"Array.from(document.querySelectorAll('.clips audio')).filter(a => "
                               f"a.id !== '{audio_id}' && !a.paused).length")
        assert others == 0
    assert page.errors == []


def test_page_works_offline_and_a_screenshot_is_saved(page, report: Path) -> None:
    """Nothing but the report's own files is requested; the page names its bounds; a screenshot is kept."""
    page.evaluate(LOAD_ALL)
    assert page.requests and all(u.startswith("file://") for u in page.requests), page.requests
    html = (report / "index.html").read_text()
    assert "<script type=\"module\"" not in html and "fetch(" not in html and "import(" not in html
    assert re.search(r"window of at most 30 s", html)
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOT_DIR / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000


def test_long_input_is_windowed_and_capped(cli, tmp_path: Path) -> None:
    """A long recording: the report analyses a window and caps the playable events, and says so."""
    audio, _ = plucks(75.0, 22050, onsets=np.arange(0.1, 74.5, 0.25))
    src = write(tmp_path / "long.flac", audio, 22050)
    out = tmp_path / "rep"
    proc = cli("report", str(src), "-o", str(out), "--window", "12", "--start", "30", "--max-events", "5",
               timeout=300)
    assert proc.returncode == 0, proc.stderr
    html = (out / "index.html").read_text()
    assert "analysed 0:30.0–0:42.0 of 1:15.0" in html
    enc = json.loads((out / "01-long" / "encoding.siam.json").read_text())
    assert abs(enc["duration"] - 12.0) < 1e-3 and enc["source"]["start"] == 30.0
    assert len(enc["events"]) > 5 and f"The 5 loudest of the {len(enc['events'])} events can be played" in html
    assert html.count('class="event"') == 5 and html.count('class="event mute"') == len(enc["events"]) - 5
    assert len(list((out / "01-long" / "events").iterdir())) == 5
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    assert size < 2_000_000


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("bad", ["missing", "text", "damaged"])
def test_bad_input_leaves_no_report(cli, tmp_path: Path, bad: str) -> None:
    """A bad second input: a clear error, no report folder, no temporary folder left behind."""
    good = write(tmp_path / "good.wav", plucks(3.0, 22050)[0], 22050)
    if bad == "missing":
        path = tmp_path / "gone.wav"
    elif bad == "text":
        path = tmp_path / "notes.wav"
        path.write_text("not audio\n" * 100)
    else:
        path = tmp_path / "damaged.flac"
        write(path, plucks(8.0, 22050)[0], 22050)
        raw = bytearray(path.read_bytes())
        raw[len(raw) // 2: len(raw) // 2 + 3000] = bytes(3000)
        path.write_bytes(bytes(raw))
    out = tmp_path / "rep"
    proc = cli("report", str(good), str(path), "-o", str(out), timeout=300)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(f"siam-rt: error: {path}")
    assert not out.exists() and _leftovers(tmp_path) == []


def test_report_replaces_only_an_earlier_report(cli, tmp_path: Path) -> None:
    good = write(tmp_path / "good.wav", plucks(2.0, 22050)[0], 22050)
    other = tmp_path / "photos"
    other.mkdir()
    (other / "holiday.jpg").write_bytes(b"\xff\xd8\xff")
    proc = cli("report", str(good), "-o", str(other))
    assert proc.returncode == 2 and "not a siam-rt report" in proc.stderr
    assert [p.name for p in other.iterdir()] == ["holiday.jpg"]
    out = tmp_path / "rep"
    assert cli("report", str(good), "-o", str(out)).returncode == 0
    (out / "01-good" / "stale.txt").write_text("from before")
    assert cli("report", str(good), str(good), "-o", str(out)).returncode == 0
    assert not (out / "01-good" / "stale.txt").exists() and (out / "02-good").is_dir()
    assert _leftovers(tmp_path) == []
    shutil.rmtree(out)
