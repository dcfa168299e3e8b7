"""Inputs of a batch and the output each one gets.

A file given on the command line goes to ``OUT/Declipped_<stem>.wav``; a
folder is walked recursively and mirrored under ``OUT`` with its own name
(``rtdeclip batch music/ -O out`` writes ``out/music/album/Declipped_x.wav``),
as ``cp -r music out`` would place it.  Two inputs that would get the same
output name (``x.wav`` and ``x.flac`` in one folder) keep their extension
(``Declipped_x.wav.wav``, ``Declipped_x.flac.wav``); two that still collide
(folders of the same name from different places) are reported as failed,
never written over one another.  The output folder itself is never walked,
so a later run does not take its outputs for inputs.
"""
import os
from dataclasses import dataclass, field

# what `rtdeclip file` decodes; matched without regard to case
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".opus", ".mp3", ".m4a", ".mp4")


@dataclass
class Item:
    input: str          # absolute path
    output: str         # absolute path under the output folder
    rel: str            # output relative to the output folder (summary key)
    error: str = ""     # set when the item cannot be processed at all
    size: int = 0
    mtime_ns: int = 0
    extra: dict = field(default_factory=dict)


def _inside(path, folder):
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _walk(root, out_dir):
    """Audio files under root (sorted, symlinked folders not followed:
    no loops), relative paths."""
    found = []
    for folder, dirs, files in os.walk(root, onerror=None):
        # never descend into the output tree, nor hidden folders
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and not _inside(os.path.join(folder, d), out_dir))
        for name in sorted(files):
            if name.startswith("."):
                continue   # hidden: our own temporaries among them
            if os.path.splitext(name)[1].lower() in AUDIO_EXTENSIONS:
                found.append(os.path.relpath(os.path.join(folder, name), root))
    return found


def discover(inputs, out_dir):
    """Items for the given files and folders, in a stable order.  Paths
    that do not exist become items with an error (reported, not fatal)."""
    out_dir = os.path.abspath(out_dir)
    pairs = []   # (input abs, output rel dir, input name)
    for given in inputs:
        path = os.path.abspath(given)
        if os.path.isdir(path):
            base = os.path.basename(path.rstrip(os.sep)) or "root"
            for rel in _walk(path, out_dir):
                pairs.append((os.path.join(path, rel),
                              os.path.normpath(os.path.join(base, os.path.dirname(rel))),
                              os.path.basename(rel)))
        else:
            pairs.append((path, "", os.path.basename(path)))

    # name outputs; a stem shared inside one output folder keeps the extension
    stems = {}
    for inp, reldir, name in pairs:
        key = os.path.join(reldir, os.path.splitext(name)[0])
        stems.setdefault(key, set()).add(name)   # other names, same stem
    items, seen_inputs, owners = [], set(), {}
    for inp, reldir, name in pairs:
        if inp in seen_inputs:
            continue   # the same file given twice (or inside a given folder)
        seen_inputs.add(inp)
        stem = os.path.splitext(name)[0]
        clash = len(stems[os.path.join(reldir, stem)]) > 1
        out_name = "Declipped_" + (name if clash else stem) + ".wav"
        rel = os.path.normpath(os.path.join(reldir, out_name))
        item = Item(inp, os.path.join(out_dir, rel), rel)
        if not os.path.exists(inp):
            item.error = f"{inp}: no such file"
        elif rel in owners:
            item.error = (f"{inp}: its output {rel} is already the output of {owners[rel]}; "
                          f"give the two folders separately to two batches")
        else:
            owners[rel] = inp
            st = os.stat(inp)
            item.size, item.mtime_ns = st.st_size, st.st_mtime_ns
            if _inside(inp, out_dir):
                item.error = f"{inp}: is inside the output folder {out_dir}"
        items.append(item)
    items.sort(key=lambda it: it.rel)
    return items
