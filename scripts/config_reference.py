"""Print the config reference (every key, type, default, description) as a Markdown table.

Usage: python scripts/config_reference.py [--update README.md]

The table is generated from workflow/schemas/config.schema.yaml; with ``--update`` it replaces
the text between the ``<!-- config-reference:start -->`` and ``<!-- config-reference:end -->``
markers of the given file (tests/test_config.py checks that README.md is current).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
START, END = "<!-- config-reference:start -->", "<!-- config-reference:end -->"


def _type(sub: dict) -> str:
    if "anyOf" in sub:
        return " or ".join(_type(alt) for alt in sub["anyOf"])
    t = sub.get("type", "")
    t = " or ".join(t) if isinstance(t, list) else t
    if "enum" in sub:
        t += ": " + " \\| ".join(f"`{v}`" for v in sub["enum"])
    if t == "array" and "items" in sub:
        t = f"list of {_type(sub['items'])}"
    return t


def rows(node: dict, prefix: str = ""):
    for name, sub in node.get("properties", {}).items():
        key = f"{prefix}{name}"
        if sub.get("type") == "object" and "properties" in sub:
            yield from rows(sub, key + ".")
            continue
        default = json.dumps(sub.get("default"), ensure_ascii=False)
        desc = " ".join(str(sub.get("description", "")).split()).replace("|", "\\|")
        yield f"| `{key}` | {_type(sub)} | `{default}` | {desc} |"


def table() -> str:
    schema = yaml.safe_load(SCHEMA.read_text())
    head = "| key | type | default | description |\n|---|---|---|---|\n"
    return head + "\n".join(rows(schema)) + "\n"


def update(path: Path) -> None:
    text = path.read_text()
    i, j = text.index(START) + len(START), text.index(END)
    path.write_text(text[:i] + "\n" + table() + text[j:])


def main(argv: list[str]) -> int:
    if argv[:1] == ["--update"] and len(argv) == 2:
        update(Path(argv[1]))
    else:
        sys.stdout.write(table())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
