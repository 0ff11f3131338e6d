"""Mutations of model files: byte flips, planted extreme and plausible integers, truncations,
chunk moves, and structure-aware edits of the parts a loader trusts (GGUF header fields, JSON
configs, safetensors headers, tokenizer vocabularies and merges, chat templates).

Every mutation is a pure function of (bytes, random generator), so a run is reproducible from
its seed, and each returns a short description that goes in the report.
"""

from __future__ import annotations

import json
import random
import struct

EXTREME = [0, 1, 2, 3, 7, 8, 31, 32, 33, 63, 64, 127, 128, 255, 256, 1023, 1024, 4095, 4096, 65535, 65536,
           0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 1 << 32, (1 << 40) + 3, 0x7FFFFFFFFFFFFFFF, 1 << 63, (1 << 64) - 1]
JINJA_SNIPPETS = [
    "{% for x in range(10**9) %}x{% endfor %}", "{{ 'a' * 100000000 }}", "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
    "{{ messages[0].__class__.__mro__ }}", "{{ cycler.__init__.__globals__ }}", "{%", "{{", "}}", "{% endfor %}",
    "{{ raise_exception('no') }}", "{{ messages[99]['content'] }}", "{% set x = namespace(a=1) %}{{ x.a }}",
    "{{ 1/0 }}", "{{ messages | tojson }}", "{{ strftime_now('%Y') }}", "{{ bos_token * 3 }}", "{% raw %}",
    "{{ (messages|length) ** 100 }}", "{{ lipsum(1000000) }}", "{{ range(100000000) | list | length }}",
]


# -------------------------------------------------------------------------------- GGUF layout
def gguf_fields(data: bytes) -> tuple[list[tuple[int, int, str]], int]:
    """(offset, size, kind) of every integer field in a GGUF header, and where the header ends.
    kind: "count" (tensor and key counts, array lengths), "strlen" (a string's length), "value"
    (an integer metadata value), "dims", "type", "offset" (of a tensor). Stops quietly at anything odd."""
    fields: list[tuple[int, int, str]] = []
    pos = 0

    def u(size: int, kind: str) -> int:
        nonlocal pos
        v = int.from_bytes(data[pos:pos + size], "little")
        fields.append((pos, size, kind))
        pos += size
        return v

    sizes = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}

    def value(t: int, depth: int = 0) -> None:
        nonlocal pos
        if t in sizes:
            if t not in (6, 12):  # floats are not integer fields
                u(sizes[t], "value")
            else:
                pos += sizes[t]
        elif t == 8:
            n = u(8, "strlen")
            pos += n
        elif t == 9 and depth < 2:
            et, n = u(4, "type"), u(8, "count")
            if et in sizes:
                if n <= 64:
                    for _ in range(n):
                        value(et, depth + 1)
                else:
                    pos += sizes[et] * n
            else:
                for _ in range(min(n, 1 << 20)):
                    value(et, depth + 1)
        else:
            raise ValueError

    try:
        pos = 4
        u(4, "value")
        n_tensors, n_kv = u(8, "count"), u(8, "count")
        for _ in range(n_kv):
            n = u(8, "strlen")
            pos += n
            value(u(4, "type"))
        for _ in range(n_tensors):
            n = u(8, "strlen")
            pos += n
            for _ in range(u(4, "dims")):
                u(8, "dims")
            u(4, "type")
            u(8, "offset")
    except (ValueError, IndexError):
        pass
    return [f for f in fields if f[0] + f[1] <= len(data)], min(pos, len(data))


FIELD_WEIGHTS = {"value": 8, "dims": 4, "count": 1, "strlen": 1, "type": 1, "offset": 1}


# -------------------------------------------------------------------------------- byte level
def flip(b: bytearray, rng: random.Random, lo: int, hi: int) -> str:
    n = rng.choice([1, 1, 1, 2, 4, 8])
    for _ in range(n):
        i = rng.randrange(lo, hi)
        b[i] ^= 1 << rng.randrange(8) if rng.random() < 0.7 else rng.randrange(1, 256)
    return f"flip{n}@{lo}-{hi}"


def plant_int(b: bytearray, rng: random.Random, fields: list[tuple[int, int, str]], lo: int, hi: int) -> str:
    if fields and rng.random() < 0.8:
        kind = rng.choices(list(FIELD_WEIGHTS), list(FIELD_WEIGHTS.values()))[0]
        off, size, _ = rng.choice([f for f in fields if f[2] == kind] or fields)
        old = int.from_bytes(b[off:off + size], "little")
        value = rng.choice([rng.choice(EXTREME), old + rng.choice([-1, 1]), old * 2, old // 2, rng.randrange(600)])
    else:
        size = rng.choice([1, 2, 4, 8])
        off = rng.randrange(lo, max(lo + 1, hi - size))
        value = rng.choice(EXTREME)
    b[off:off + size] = (value % (1 << (8 * size))).to_bytes(size, "little")
    return f"int{size}={value}@{off}"


def truncate(b: bytearray, rng: random.Random, lo: int, hi: int) -> str:
    at = rng.randrange(0, hi) if rng.random() < 0.7 else rng.randrange(0, len(b))
    del b[at:]
    return f"cut@{at}"


def chunk(b: bytearray, rng: random.Random, lo: int, hi: int) -> str:
    if len(b) < 4:
        return "chunk-none"
    n = rng.choice([1, 4, 8, 16, 64, 512])
    src = rng.randrange(lo, max(lo + 1, hi))
    piece = bytes(b[src:src + n])
    dst = rng.randrange(lo, max(lo + 1, hi))
    op = rng.choice(["move", "insert", "delete", "dup"])
    if op == "move":
        b[dst:dst + len(piece)] = piece
    elif op == "insert":
        b[dst:dst] = piece
    elif op == "delete":
        del b[src:src + n]
    else:
        b[src:src] = piece
    return f"chunk-{op}{n}@{src}->{dst}"


def bytes_mutation(data: bytes, rng: random.Random, fields=(), focus: int = 0) -> tuple[bytes, str]:
    """One to three byte-level mutations; `focus` bytes at the start (a header) get most of them."""
    b = bytearray(data)
    notes = []
    for _ in range(rng.choice([1, 1, 2, 3])):
        if not b:
            break
        hi = min(len(b), focus) if focus and rng.random() < 0.85 else len(b)
        hi = max(hi, 1)
        op = rng.choices(["flip", "int", "cut", "chunk"], [4, 4, 1, 2])[0]
        if op == "flip":
            notes.append(flip(b, rng, 0, hi))
        elif op == "int":
            notes.append(plant_int(b, rng, [f for f in fields if f[0] + f[1] <= len(b)], 0, hi))
        elif op == "cut":
            notes.append(truncate(b, rng, 0, hi))
        else:
            notes.append(chunk(b, rng, 0, hi))
    return bytes(b), "+".join(notes)


# -------------------------------------------------------------------------------- JSON
def _nodes(obj, path=()):
    yield path, obj
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _nodes(v, path + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:64]):
            yield from _nodes(v, path + (i,))


def _weird(rng: random.Random, old):
    choices = [rng.choice(EXTREME), -rng.choice(EXTREME), 0, -1, 1.5, float("nan"), float("inf"), 1e308, None, True,
               "", "x" * rng.choice([1, 10, 5000]), [], {}, [1, 2, 3], {"a": 1}, "<|im_end|>", "Ġt", "\u0000"]
    if isinstance(old, int) and not isinstance(old, bool):
        choices += [old + 1, old - 1, old * 2, old // 2, old * 1000]
    if isinstance(old, str) and old:
        choices += [old[::-1], old[:-1], old + old, old.upper(), old + " x"]
    if isinstance(old, list) and old:
        choices += [old[:-1], old[1:], old + old[:1], old[::-1]]
    return rng.choice(choices)


def json_mutation(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """Edit a random node of a JSON document: a weird value, a deleted key, a shuffled list."""
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return bytes_mutation(data, rng)
    nodes = list(_nodes(obj))
    notes = []
    for _ in range(rng.choice([1, 1, 2])):
        path, node = rng.choice(nodes)
        if not path:
            continue
        parent = obj
        for k in path[:-1]:
            parent = parent[k]
        key = path[-1]
        op = rng.choices(["value", "delete", "swap"], [6, 2, 1])[0]
        try:
            if op == "value":
                parent[key] = _weird(rng, node)
            elif op == "delete":
                del parent[key]
            elif isinstance(parent, list) and len(parent) > 1:
                j = rng.randrange(len(parent))
                parent[key], parent[j] = parent[j], parent[key]
        except (IndexError, KeyError, TypeError):
            continue
        notes.append(f"json-{op}:{'/'.join(map(str, path))[:60]}")
        nodes = list(_nodes(obj))
    return json.dumps(obj).encode(), "+".join(notes) or "json-none"


def template_mutation(text: str, rng: random.Random) -> tuple[str, str]:
    """Plant a hostile or broken snippet in a chat template, or cut it."""
    op = rng.choice(["insert", "replace", "cut"])
    if op == "cut":
        at = rng.randrange(len(text) + 1)
        return text[:at], f"template-cut@{at}"
    snip = rng.choice(JINJA_SNIPPETS)
    at = rng.randrange(len(text) + 1)
    if op == "insert":
        return text[:at] + snip + text[at:], f"template-insert:{snip[:30]}"
    return snip, f"template-replace:{snip[:30]}"


# -------------------------------------------------------------------------------- per file kind
def safetensors_mutation(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """The header as JSON (shapes, dtypes, offsets), or bytes of the header length and body."""
    if len(data) >= 8 and rng.random() < 0.6:
        (n,) = struct.unpack("<Q", data[:8])
        if 8 + n <= len(data):
            head, note = json_mutation(data[8:8 + n], rng)
            if rng.random() < 0.8:  # keep the length honest, so the header's content is what gets tested
                return struct.pack("<Q", len(head)) + head + data[8 + n:], "st-" + note
            return data[:8] + head + data[8 + n:], "st-len-" + note
    focus = 8 + int.from_bytes(data[:8], "little") if len(data) >= 8 else 0
    return bytes_mutation(data, rng, [(0, 8, "strlen")], min(focus, len(data)))


def tokenizer_json_mutation(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """tokenizer.json: rename, drop or renumber vocabulary entries; plant merges with unknown
    tokens; or any other node."""
    try:
        obj = json.loads(data)
        model = obj["model"]
        vocab, merges = model["vocab"], model["merges"]
    except (ValueError, KeyError, TypeError):
        return json_mutation(data, rng)
    op = rng.choice(["vocab-drop", "vocab-renumber", "merge-oov", "merge-drop", "added-id", "generic", "generic"])
    if op == "vocab-drop" and vocab:
        del vocab[rng.choice(list(vocab))]
    elif op == "vocab-renumber" and vocab:
        vocab[rng.choice(list(vocab))] = rng.choice(EXTREME + [-1, len(vocab)])
    elif op == "merge-oov" and merges:
        i = rng.randrange(len(merges))
        pair = merges[i] if isinstance(merges[i], list) else merges[i].split(" ")
        pair[rng.randrange(len(pair))] = rng.choice(["Ġzz", "\u0000", "", "not-a-token"])
        merges[i] = pair if isinstance(merges[i], list) else " ".join(pair)
    elif op == "merge-drop" and merges:
        del merges[rng.randrange(len(merges))]
    elif op == "added-id" and obj.get("added_tokens"):
        rng.choice(obj["added_tokens"])["id"] = rng.choice(EXTREME + [-1])
    else:
        return json_mutation(data, rng)
    return json.dumps(obj).encode(), f"tokenizer-{op}"


def tokenizer_config_mutation(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    try:
        obj = json.loads(data)
    except ValueError:
        return bytes_mutation(data, rng)
    if isinstance(obj, dict) and isinstance(obj.get("chat_template"), str) and rng.random() < 0.5:
        obj["chat_template"], note = template_mutation(obj["chat_template"], rng)
        return json.dumps(obj).encode(), note
    return json_mutation(data, rng)


def gguf_replace_string(data: bytes, old: str, new: str, alignment: int = 32) -> bytes | None:
    """Replace a string value in a GGUF header by one of another length, moving the tensor data so
    the file stays well-formed (its header grows or shrinks; the data start is realigned)."""
    raw = old.encode()
    at = data.find(struct.pack("<Q", len(raw)) + raw)
    _, header_end = gguf_fields(data)
    if at < 0 or at > header_end:
        return None
    data_start = (header_end + alignment - 1) // alignment * alignment
    enc = new.encode("utf-8", "surrogatepass")
    head = data[:at] + struct.pack("<Q", len(enc)) + enc + data[at + 8 + len(raw):header_end]
    return head + b"\0" * (-len(head) % alignment) + data[data_start:]


# -------------------------------------------------------------------------------- mutants of seeds
class Prepared:
    """A seed read into memory once, with what the structure-aware mutations need."""

    def __init__(self, seed):
        self.seed = seed
        if seed.path.is_file():
            self.data = seed.path.read_bytes()
            self.fields, self.header_end = gguf_fields(self.data)
            self.files = None
        else:
            self.files = {p.name: p.read_bytes() for p in sorted(seed.path.iterdir()) if p.is_file()}


_FOLDER_WEIGHTS = {"config.json": 5, "tokenizer.json": 4, "tokenizer_config.json": 4, "generation_config.json": 1,
                   "model.safetensors.index.json": 2}


def mutate(p: Prepared, rng: random.Random) -> tuple[bytes | dict[str, bytes | None], str]:
    """A mutant of a prepared seed: new bytes for a GGUF file, or {file name: new bytes, or None to
    delete it} for a folder (files not named stay as in the seed)."""
    if p.files is None:
        if rng.random() < 0.08:
            from .seeds import CHAT_TEMPLATE

            text, note = template_mutation(CHAT_TEMPLATE, rng)
            out = gguf_replace_string(p.data, CHAT_TEMPLATE, text)
            if out is not None:
                return out, note
        return bytes_mutation(p.data, rng, p.fields, p.header_end)
    names = list(p.files)
    weights = [_FOLDER_WEIGHTS.get(n, 5 if n.endswith(".safetensors") else 1) for n in names]
    changes: dict[str, bytes | None] = {}
    notes = []
    for _ in range(rng.choice([1, 1, 1, 2])):
        name = rng.choices(names, weights)[0]
        data = changes.get(name) or p.files[name]
        if rng.random() < 0.03:
            changes[name] = None
            notes.append(f"{name}:deleted")
            continue
        if name.endswith(".safetensors"):
            new, note = safetensors_mutation(data, rng)
        elif name == "tokenizer.json":
            new, note = tokenizer_json_mutation(data, rng) if rng.random() < 0.8 else bytes_mutation(data, rng)
        elif name == "tokenizer_config.json":
            new, note = tokenizer_config_mutation(data, rng)
        elif name.endswith(".json"):
            new, note = json_mutation(data, rng) if rng.random() < 0.8 else bytes_mutation(data, rng)
        else:
            new, note = bytes_mutation(data, rng)
        changes[name] = new
        notes.append(f"{name}:{note}")
    return changes, " ".join(notes)
