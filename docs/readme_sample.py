"""Rewrite README.md's ``qa ask`` sample output with what the command prints now.

    python docs/readme_sample.py          # runs the sample's command, replaces its output in README.md

``tests/test_examples.py`` fails when the README's sample and the command's output differ.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = re.compile(r"(```text\n\$ (qa ask .*?)\n)(.*?)(```)", re.S)
ENVIRONMENT = {"COLUMNS": "84", "NO_COLOR": "1", "TERM": "dumb"}
"""How the sample is printed: 84 columns, no colour."""


def main() -> None:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    match = SAMPLE.search(text)
    if match is None:
        sys.exit("README.md has no ```text $ qa ask … sample")
    args = [sys.executable, "-m", "qa", *shlex.split(match.group(2))[1:], *sys.argv[1:]]
    printed = subprocess.run(
        args, capture_output=True, text=True, env={**os.environ, **ENVIRONMENT}, cwd=ROOT, check=True
    ).stdout
    readme.write_text(text[: match.start(3)] + printed.strip() + "\n" + text[match.end(3) :], encoding="utf-8")
    print(printed)


if __name__ == "__main__":
    main()
