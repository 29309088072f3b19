"""Effect chain files: JSON listing pedalboard effects and VST3/AU plugins with their parameters.

```json
{
  "schema_version": 1,
  "description": "a concert hall",
  "effects": [
    {"effect": "Compressor", "threshold_db": -18, "ratio": 2.5},
    {"effect": "Reverb", "room_size": 0.85, "wet_level": 0.3},
    {"plugin": "/Library/Audio/Plug-Ins/VST3/Foo.vst3", "plugin_name": "Foo", "parameters": {"mix": 0.4}}
  ]
}
```

An ``effect`` is a pedalboard effect class by name, with its constructor's parameters beside it; a ``plugin``
is a VST3 or Audio Unit path (relative paths are from the chain file) loaded with ``pedalboard.load_plugin``,
its parameters under ``parameters``. Every problem names the file and the field.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from siam_rt.errors import SiamError
from siam_rt.io.jsonfile import read_json_object

SCHEMA_VERSION = 1
#: pedalboard classes that are not effects one lists in a chain
_NOT_EFFECTS = {"Plugin", "PluginContainer", "Pedalboard", "Chain", "Mix", "ExternalPlugin", "VST3Plugin",
                "AudioUnitPlugin", "_klass"}


def effect_names() -> list[str]:
    """The pedalboard effects a chain may name."""
    import pedalboard

    return sorted(n for n in dir(pedalboard) if n not in _NOT_EFFECTS and isinstance(getattr(pedalboard, n), type)
                  and issubclass(getattr(pedalboard, n), pedalboard.Plugin))


def _parameters(cls: type) -> set[str]:
    import pedalboard

    names: set[str] = set()
    for klass in cls.__mro__:
        if klass in (pedalboard.Plugin, object):
            break
        names |= {n for n, v in vars(klass).items() if isinstance(v, property)}
    return names


def bundled_chain(name: str) -> Path:
    """A chain shipped in host/ by name (``hall``, ``tape``, ``bright``) or file name."""
    from siam_rt.resources import bundled

    folder = bundled("host")
    path = folder / (name if name.endswith(".json") else f"{name}.json")
    if not path.is_file():
        shipped = sorted(p.stem for p in folder.glob("*.json"))
        raise SiamError(f"no shipped chain {name!r}; shipped chains: {', '.join(shipped) or 'none'}")
    return path


def resolve_chain(spec: str | os.PathLike) -> Path:
    """A chain file path, or a shipped chain's name (``hall``) when there is no such file."""
    path = Path(spec)
    if path.is_file() or path.parent != Path("."):
        return path
    try:
        return bundled_chain(str(spec))
    except SiamError:
        return path  # load_chain reports the missing file


def load_chain(path: str | os.PathLike) -> Any:
    """Read a chain file into a ``pedalboard.Pedalboard``; a SiamError names the file and the field."""
    import pedalboard

    path = Path(path)
    raw = read_json_object(path, "chain", SCHEMA_VERSION)
    unknown = set(raw) - {"schema_version", "description", "effects"}
    if unknown:
        raise SiamError(f"{path}: unknown field(s) {', '.join(sorted(unknown))}")
    effects = raw.get("effects")
    if not isinstance(effects, list):
        raise SiamError(f"{path}: field 'effects' must be a list")
    return pedalboard.Pedalboard([_entry(path, f"effects[{i}]", e) for i, e in enumerate(effects)])


def _check_value(path: Path, field: str, value: object) -> None:
    if not isinstance(value, (int, float, str, bool)):
        raise SiamError(f"{path}: field '{field}' must be a number, a string or a boolean")


def _entry(path: Path, field: str, entry: object) -> Any:
    import pedalboard

    if not isinstance(entry, dict):
        raise SiamError(f"{path}: field '{field}' must be an object with 'effect' or 'plugin'")
    if ("effect" in entry) == ("plugin" in entry):
        raise SiamError(f"{path}: field '{field}' needs exactly one of 'effect' (a pedalboard effect) or 'plugin' "
                        "(a VST3/AU path)")
    if "effect" in entry:
        name = entry["effect"]
        if not isinstance(name, str) or name not in effect_names():
            raise SiamError(f"{path}: field '{field}.effect': unknown effect {name!r}; effects: "
                            f"{', '.join(effect_names())}")
        cls = getattr(pedalboard, name)
        params = {k: v for k, v in entry.items() if k != "effect"}
        known = _parameters(cls)
        for key, value in params.items():
            if key not in known:
                raise SiamError(f"{path}: field '{field}.{key}': {name} has no parameter {key!r}; its parameters: "
                                f"{', '.join(sorted(known)) or 'none'}")
            _check_value(path, f"{field}.{key}", value)
        if "impulse_response_filename" in params:  # Convolution: relative to the chain file
            params["impulse_response_filename"] = str(path.parent / str(params["impulse_response_filename"]))
        try:
            return cls(**params)
        except Exception as exc:  # pybind11 TypeError / ValueError for wrong types or ranges
            first = str(exc).splitlines()[0]
            raise SiamError(f"{path}: field '{field}': {name}({', '.join(f'{k}={v!r}' for k, v in params.items())}) "
                            f"is not valid ({first})") from None
    return _plugin(path, field, entry)


def _plugin(path: Path, field: str, entry: dict) -> Any:
    import pedalboard

    unknown = set(entry) - {"plugin", "plugin_name", "parameters"}
    if unknown:
        raise SiamError(f"{path}: field '{field}' has unknown key(s) {', '.join(sorted(unknown))} (a plugin takes "
                        "'plugin', 'plugin_name' and 'parameters')")
    where = entry["plugin"]
    if not isinstance(where, str) or not where:
        raise SiamError(f"{path}: field '{field}.plugin' must be a path to a .vst3 or .component plugin")
    plugin_path = Path(where).expanduser()
    if not plugin_path.is_absolute():
        plugin_path = path.parent / plugin_path
    if not plugin_path.exists():
        raise SiamError(f"{path}: field '{field}.plugin': no plugin at {plugin_path}")
    name = entry.get("plugin_name")
    try:
        plugin = pedalboard.load_plugin(str(plugin_path), plugin_name=name)
    except Exception as exc:
        raise SiamError(f"{path}: field '{field}.plugin': cannot load {plugin_path} "
                        f"({str(exc).strip().splitlines()[-1]})") from None
    params = entry.get("parameters", {})
    if not isinstance(params, dict):
        raise SiamError(f"{path}: field '{field}.parameters' must be an object")
    known = set(getattr(plugin, "parameters", {}))
    for key, value in params.items():
        _check_value(path, f"{field}.parameters.{key}", value)
        if key not in known:
            raise SiamError(f"{path}: field '{field}.parameters.{key}': the plugin has no parameter {key!r}; its "
                            f"parameters: {', '.join(sorted(known)) or 'none'}")
        try:
            setattr(plugin, key, value)
        except Exception as exc:
            raise SiamError(f"{path}: field '{field}.parameters.{key}': {exc}") from None
    return plugin
