"""One resolver for the folders that ship with siam-rt (default model, presets, host pages, examples).

An installed wheel carries them as package data under ``siam_rt/_bundled/<name>`` (hatch force-include);
a source checkout (editable install, or running from the repo) has them as top-level folders beside
``siam_rt/``. Everything else in the code asks this module, never a path of its own.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from siam_rt.errors import SiamError

BUNDLED = ("export", "presets", "host", "examples")

#: The example MIDI file that `siam-rt render` plays when given none (a Bach chorale, public domain).
EXAMPLE_MIDI = "bach_bwv66.6.mid"


def bundled(name: str) -> Path:
    """Return the folder of bundled data ``name`` (one of BUNDLED), from the wheel or from the checkout."""
    if name not in BUNDLED:
        raise ValueError(f"unknown bundled folder {name!r}; expected one of {', '.join(BUNDLED)}")
    package = Path(str(files("siam_rt")))
    installed = package / "_bundled" / name
    if installed.is_dir():
        return installed
    checkout = package.parent / name
    if checkout.is_dir():
        return checkout
    raise SiamError(
        f"{installed}: bundled folder '{name}' is missing (nor is it at {checkout}); reinstall siam-rt"
    )


#: The environment variable that names the user's presets folder (over the per-user data folder).
PRESETS_ENV = "SIAM_RT_PRESETS"


def user_presets_dir() -> Path:
    """The user's own presets (``preset extract`` and ``preset morph`` write here): $SIAM_RT_PRESETS, else
    the per-user data folder (platformdirs: ~/.local/share/siam-rt/presets on Linux). It may not exist yet."""
    import os

    if os.environ.get(PRESETS_ENV):
        return Path(os.environ[PRESETS_ENV]).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("siam-rt", appauthor=False)) / "presets"


def default_model_dir() -> Path:
    """The exported default model (ONNX files, manifest, note map): the default of every `--model DIR`."""
    return bundled("export")


def presets_dir() -> Path:
    """The shipped presets."""
    return bundled("presets")


def example_midi() -> Path:
    """The bundled example MIDI file."""
    path = bundled("examples") / EXAMPLE_MIDI
    if not path.is_file():
        raise SiamError(f"{path}: bundled example MIDI file is missing; reinstall siam-rt")
    return path
