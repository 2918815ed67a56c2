#!/usr/bin/env python3
"""Write the book's code map (book/src/code-map.md) from the sources themselves.

Each file's entry is the first sentence of its module comment (`//!` in Rust, the opening `//`
comment of a CUDA file) and the pages of the book that include code from it. Run it after adding,
moving or documenting a file; `cargo test -p integration-tests --test book` fails while the map
is stale.

Usage: code_map.py            write book/src/code-map.md
       code_map.py --print    print it instead
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
BOOK = ROOT / "book/src"
# The folders a reader rebuilding the engine needs, in the order the book meets them.
FOLDERS = [
    ("engine/src", "The engine: tensors and their layout, storage and devices, errors"),
    ("engine/src/autograd", "Reverse-mode autodiff: the tape, and one file per family of backward rules"),
    ("engine/src/nn", "Layers, activations, losses, initialisation"),
    ("engine/src/nn/optim", "Optimisers"),
    ("engine/src/cpu", "CPU kernels (rayon, matrixmultiply, AVX-512)"),
    ("engine/src/geometry", "Shapes of convolutions and poolings, shared by both devices"),
    ("engine/src/cuda", "CUDA kernels and their Rust launchers, NVRTC, cuBLAS, the host emulator"),
    ("engine/src/models", "VGG and the memory estimate"),
    ("engine/src/style", "Style transfer: the objective, Gram matrices, L-BFGS and its line search"),
    ("engine/src/io", "Pictures and files: loading, saving atomically, outputs, colours"),
    ("engine/src/vis", "Plots and pictures for the book"),
    ("engine/src/bin/picasso", "The `picasso` command"),
    ("engine/src/bin/picasso/stylize", "`picasso stylize`: the plan, the checks before work, the run"),
    ("engine/src/bin/picasso/serve", "`picasso serve`: the local web page to paint with"),
    ("chapters-examples/src", "What the chapter examples share"),
    ("chapters-examples/src/bin", "One example per chapter"),
    ("chapters-examples/src/figures", "The chapter examples' figures"),
    ("weights-tools/src", "Weight files: safetensors, PyTorch, ONNX"),
]
EXTENSIONS = {".rs", ".cu", ".cuh", ".h"}


def anchor_id(path: str) -> str:
    return path.replace("/", "-").replace(".", "-").replace("_", "-")


def summary(path: pathlib.Path) -> str:
    """The first sentence of the file's module comment."""
    lines = path.read_text(encoding="utf-8").splitlines()
    prefix = "//!" if path.suffix == ".rs" else "//"
    text = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith(prefix) and not stripped.startswith("///"):
            words = stripped[len(prefix):].strip()
            if not words.startswith("#"):  # a Markdown heading repeats the file's name
                text.append(words)
        elif text or (stripped and not stripped.startswith("#")):
            break
    joined = " ".join(t for t in text if t)
    if not joined:
        return "(no module comment)"
    sentence = re.split(r"(?<=\.)\s", joined, maxsplit=1)[0]
    if len(sentence) > 200:
        sentence = sentence[:200].rsplit(" ", 1)[0] + " …"
    return sentence.replace("|", "\\|")


def pages_reading() -> dict[str, list[tuple[str, str]]]:
    """file → [(page, title)] for every page that includes code from it."""
    titles = {}
    for match in re.finditer(r"\[([^\]]+)\]\(([^)]+\.md)\)", (BOOK / "SUMMARY.md").read_text()):
        titles[match.group(2)] = match.group(1)
    readers: dict[str, list[tuple[str, str]]] = {}
    for page in sorted(BOOK.glob("*.md")):
        for match in re.finditer(r"\{\{#include \.\./\.\./([^:}]+)", page.read_text(encoding="utf-8")):
            entry = (page.name, titles.get(page.name, page.stem))
            readers.setdefault(match.group(1), [])
            if entry not in readers[match.group(1)]:
                readers[match.group(1)].append(entry)
    return readers


def code_map() -> str:
    readers = pages_reading()
    out = [
        "# Code map",
        "",
        "Which file holds what, folder by folder, and which pages of the book read it. Every",
        "listing's caption links here. The map is written by `book/scripts/code_map.py` from each",
        "file's own opening comment, so it says what the code says about itself.",
        "",
    ]
    for folder, about in FOLDERS:
        if not (ROOT / folder).is_dir():
            continue
        files = sorted(
            p for p in (ROOT / folder).iterdir() if p.is_file() and p.suffix in EXTENSIONS
        )
        if not files:
            continue
        out += [f"## `{folder}/`", "", about + ".", "", "| file | what it holds | read in |",
                "| --- | --- | --- |"]
        for file in files:
            relative = file.relative_to(ROOT).as_posix()
            pages = ", ".join(f"[{title}]({page})" for page, title in readers.get(relative, []))
            out.append(
                f'| <a id="{anchor_id(relative)}"></a>`{file.name}` | {summary(file)} | {pages} |'
            )
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    text = code_map()
    if sys.argv[1:] == ["--print"]:
        sys.stdout.write(text)
    else:
        (BOOK / "code-map.md").write_text(text)
        print("wrote book/src/code-map.md")
