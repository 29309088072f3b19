"""The bank: GM programs -> presets (with a fallback per GM family), the default preset, and channel 10."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from siam_rt.errors import SiamError
from siam_rt.io.jsonfile import read_json_object
from siam_rt.timbre.preset import Preset, load_preset

SCHEMA_VERSION = 1
#: The 16 GM families, eight programs each.
FAMILIES = ("piano", "chromatic percussion", "organ", "guitar", "bass", "strings", "ensemble", "brass", "reed",
            "pipe", "synth lead", "synth pad", "synth effects", "ethnic", "percussive", "sound effects")
DRUM_CHANNEL = 9  # channel 10, counted from 1


@dataclass
class Bank:
    """Which preset plays which GM program; all presets loaded and validated."""

    presets: dict[str, Preset]
    default: str
    programs: dict[int, str]
    families: dict[str, str]
    drums: str | None  # the preset channel 10 plays, or None: channel 10 is silent
    path: Path | None = None
    user: set[str] = field(default_factory=set)  # presets from the user's folder
    shadowed: set[str] = field(default_factory=set)  # user presets that stand in for a shipped one of that name

    def for_program(self, program: int) -> Preset:
        """The preset of a GM program (0-127): its own entry, else its family's, else the default."""
        name = self.programs.get(program) or self.families.get(FAMILIES[program // 8]) or self.default
        return self.presets[name]

    def get(self, name: str) -> Preset:
        """A preset by name, or an error listing the names there are."""
        try:
            return self.presets[name]
        except KeyError:
            raise SiamError(f"no preset named {name!r}; presets: {', '.join(sorted(self.presets))}") from None

    @property
    def default_preset(self) -> Preset:
        return self.presets[self.default]


def _folder_presets(folder: Path, model_id: str | None) -> dict[str, Preset]:
    presets = {p.stem: load_preset(p, model_id) for p in sorted(folder.glob("*.json")) if p.name != "bank.json"}
    for p in presets.values():
        if p.name != p.path.stem:
            raise SiamError(f"{p.path}: field 'name' {p.name!r} differs from the file name {p.path.stem!r}")
    return presets


def load_bank(folder: str | Path | None = None, model_id: str | None = None) -> Bank:
    """Load ``folder/bank.json`` and every preset in ``folder``; by default the shipped presets with the user's
    own (``resources.user_presets_dir``) over them: a user preset of a shipped name wins, and a user folder's
    bank.json replaces the shipped one."""
    folder, mine = (Path(folder), None) if folder is not None else _default_folders()
    presets = _folder_presets(folder, model_id)
    user = _folder_presets(mine, model_id) if mine is not None else {}
    shadowed = set(presets) & set(user)
    presets.update(user)
    path = mine / "bank.json" if mine is not None and (mine / "bank.json").is_file() else folder / "bank.json"
    raw = read_json_object(path, "bank", SCHEMA_VERSION)

    def check(field: str, name: object) -> str:
        if not isinstance(name, str) or name not in presets:
            raise SiamError(f"{path}: field '{field}' points at a missing preset {name!r} "
                            f"(there are: {', '.join(sorted(presets))})")
        return name

    default = check("default", raw.get("default"))
    programs_raw = raw.get("programs", {})
    families_raw = raw.get("families", {})
    if not isinstance(programs_raw, dict) or not isinstance(families_raw, dict):
        raise SiamError(f"{path}: fields 'programs' and 'families' must be objects")
    programs = {}
    for key, name in programs_raw.items():
        if not key.isdigit() or not 0 <= int(key) <= 127:
            raise SiamError(f"{path}: field 'programs' has key {key!r}, not a GM program 0-127")
        programs[int(key)] = check(f"programs.{key}", name)
    families = {}
    for key, name in families_raw.items():
        if key not in FAMILIES:
            raise SiamError(f"{path}: field 'families' has unknown family {key!r}")
        families[key] = check(f"families.{key}", name)
    drums_raw = raw.get("drums", {"mode": "mute"})
    if not isinstance(drums_raw, dict) or drums_raw.get("mode") not in ("mute", "preset"):
        raise SiamError(f"{path}: field 'drums' must be {{'mode': 'mute'}} or {{'mode': 'preset', 'preset': NAME}}")
    drums = check("drums.preset", drums_raw.get("preset")) if drums_raw["mode"] == "preset" else None
    return Bank(presets, default, programs, families, drums, path, set(user), shadowed)


def _default_folders() -> tuple[Path, Path | None]:
    """The shipped presets folder, and the user's if it exists."""
    from siam_rt.resources import presets_dir, user_presets_dir

    mine = user_presets_dir()
    return presets_dir(), mine if mine.is_dir() else None
