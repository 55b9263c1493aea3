"""TOML text of a config given as a Python dict, for the library to read as it reads a file.

The standard library reads TOML (tomllib) but does not write it. This writer covers what a config
holds: tables (dicts), arrays (lists, tuples), strings, integers, floats and booleans; numpy
scalars count as the Python numbers they are. Anything else is a ValueError naming the key.
"""

import math
import numbers
import re
from collections.abc import Mapping

import numpy as np

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f",
            "\r": "\\r"}
_INT64 = (-(2**63), 2**63 - 1)


def key_text(key):
    """A key as TOML writes it: bare when it can be, else a quoted string."""
    return key if _BARE_KEY.fullmatch(key) else string_text(key)


def string_text(value):
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for char in value:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _where(path, root):
    return root + "".join(f"[{part!r}]" for part in path)


def _float_text(value):
    if math.isnan(value):
        return "nan"  # the library refuses it with its own message, naming the key
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(float(value))  # the shortest form that reads back to the same double


def value_text(value, path=(), root="config"):
    """One value as TOML (inline: arrays and tables on one line). `root` and `path` (the keys and
    indices that lead to it) name it in errors: config['train']['lr']."""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, numbers.Integral):
        number = int(value)
        if not _INT64[0] <= number <= _INT64[1]:
            raise ValueError(f"{_where(path, root)}: {number} does not fit a 64-bit integer, "
                             "which is what TOML holds")
        return str(number)
    if isinstance(value, numbers.Real):
        return _float_text(float(value))
    if isinstance(value, str):
        return string_text(value)
    if isinstance(value, Mapping):
        items = [f"{key_text(_key(key, path, root))} = {value_text(item, path + (key,), root)}"
                 for key, item in value.items()]
        return "{ " + ", ".join(items) + " }" if items else "{}"
    if isinstance(value, (list, tuple, np.ndarray)):
        items = list(value.tolist() if isinstance(value, np.ndarray) else value)
        texts = [value_text(item, path + (i,), root) for i, item in enumerate(items)]
        return "[" + ", ".join(texts) + "]"
    if value is None:
        raise ValueError(f"{_where(path, root)} is None: TOML has no null; leave the key out "
                         "for its default")
    raise ValueError(f"{_where(path, root)}: a value of type {type(value).__name__} has no TOML "
                     "form; a config holds tables (dict), arrays (list), strings, integers, "
                     "floats and booleans")


def _key(key, path, root="config"):
    if not isinstance(key, str):
        raise ValueError(f"{_where(path, root)}: the key {key!r} is a {type(key).__name__}, "
                         "not a string")
    return key


def toml_text(config):
    """The TOML text of a config dict: its plain keys first, then a [table] per dict, sub-tables
    as [a.b]; lists (of dicts too) stay inline, as model.conv = [{ channels = 16, kernel = 3 }]."""
    if not isinstance(config, Mapping):
        raise TypeError(f"a config is a dict, not a {type(config).__name__}")
    lines = []
    _write_table(config, (), lines)
    return "\n".join(lines) + "\n"


def _write_table(table, path, lines):
    plain = [(key, value) for key, value in table.items() if not isinstance(value, Mapping)]
    tables = [(key, value) for key, value in table.items() if isinstance(value, Mapping)]
    # A header for every table that holds plain values, or nothing at all (so that it exists).
    if path and (plain or not tables):
        if lines:
            lines.append("")
        lines.append("[" + ".".join(key_text(part) for part in path) + "]")
    for key, value in plain:
        lines.append(f"{key_text(_key(key, path))} = {value_text(value, path + (key,))}")
    for key, value in tables:
        _write_table(value, path + (_key(key, path),), lines)
