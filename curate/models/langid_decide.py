"""Deciding a document's language from a model's top-k scores plus explicit evidence.

fastText alone takes its top label. curate instead (all vectorized over a batch):

1. takes the top ``k`` labels and maps them to ISO 639-3 + script codes;
2. merges each confusable group (Serbo-Croatian, Scandinavian, ...) into one candidate whose
   probability is the sum of its members', so a split vote inside a group cannot hand the
   document to an outsider;
3. charges every candidate ``letter_penalty`` for each distinct letter of the text that its
   alphabet lacks — this is also the script check (Cyrillic vs Latin);
4. takes the best candidate; inside a group, picks the member with marker words
   (``marker_weight`` per hit) on top of the model's own split.

The score reported is the model's probability of the chosen candidate (summed over a group).
The evidence lives in ``curate/models/data/evidence.yaml``; see ``curate/models/data/README.md``.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from curate.models.langid import registry_dir

SCRIPTS = ("Latn", "Cyrl", "Grek")
_OTHER_SCRIPT = len(SCRIPTS)
_TABLE_END = 0x3040  # code points above are CJK and beyond: letters of "other" scripts
_TOKEN_SPLIT = r"[^\p{L}\p{M}]+"
FLOOR = 1e-6
FOREIGN_SCRIPT_LETTERS = 10


@dataclass(frozen=True)
class Group:
    name: str
    members: tuple[str, ...]
    labels: tuple[str, ...]
    markers: tuple[str | None, ...]  # per member: a regex over one lowercase token


@dataclass(frozen=True)
class Evidence:
    alphabets: dict[str, str]
    groups: tuple[Group, ...]

    @functools.cached_property
    def group_of(self) -> dict[str, Group]:
        return {code: g for g in self.groups for code in (*g.members, *g.labels)}


@functools.cache
def load_evidence() -> Evidence:
    data = yaml.safe_load((registry_dir() / "evidence.yaml").read_text(encoding="utf-8"))
    base = data["latin_base"]
    alphabets = {
        code: (base + letters if code.endswith("_Latn") else letters)
        for code, letters in data["alphabets"].items()
    }
    groups = tuple(
        Group(
            name=name,
            members=tuple(spec["members"]),
            labels=tuple(spec["labels"]),
            markers=tuple(_marker_pattern(words) for words in spec["members"].values()),
        )
        for name, spec in data["groups"].items()
    )
    return Evidence(alphabets, groups)


def _marker_pattern(entries: str) -> str | None:
    words = sorted(e for e in entries.split() if not e.startswith("-"))
    endings = sorted(e[1:] for e in entries.split() if e.startswith("-"))
    parts = [f"^(?:{'|'.join(words)})$"] if words else []
    parts += [f"(?:{'|'.join(endings)})$"] if endings else []
    return "|".join(parts) or None


@functools.cache
def _letter_table() -> tuple[np.ndarray, np.ndarray]:
    """Column of each code point below _TABLE_END in the letter matrix (-1: not a letter) and
    the script of each column. Letters of some alphabet get a column each; any other letter
    falls in its script's catch-all column (letters above the table: the "other" one)."""
    alphabet_letters = sorted({ord(ch) for a in load_evidence().alphabets.values() for ch in a})
    script = np.array([_script_of(cp) for cp in alphabet_letters] + list(range(len(SCRIPTS) + 1)))
    column = np.full(_TABLE_END, -1, np.int32)
    for cp in range(_TABLE_END):
        if unicodedata.category(chr(cp)).startswith("L"):
            column[cp] = len(alphabet_letters) + _script_of(cp)
    column[alphabet_letters] = np.arange(len(alphabet_letters))
    return column, script.astype(np.int8)


def _script_of(codepoint: int) -> int:
    ranges = {0: [(0x41, 0x24F), (0x1E00, 0x1EFF)], 1: [(0x400, 0x52F)]}
    ranges[2] = [(0x370, 0x3FF), (0x1F00, 0x1FFF)]
    for index, spans in ranges.items():
        if any(low <= codepoint <= high for low, high in spans):
            return index
    return _OTHER_SCRIPT


@functools.cache
def _outside(code: str) -> np.ndarray:
    """Mask of the letter columns of ``code``'s own script that it does not write."""
    column, script = _letter_table()
    own = _script_index(code)
    alphabet = load_evidence().alphabets.get(code)
    if alphabet is None:
        return np.zeros(len(script), bool)
    inside = np.zeros(len(script), bool)
    inside[column[[ord(ch) for ch in alphabet]]] = True
    return (script == own) & ~inside


def _script_index(code: str) -> int:
    name = code.rpartition("_")[2]
    return SCRIPTS.index(name) if name in SCRIPTS else _OTHER_SCRIPT


def letters_present(texts: pa.Array, max_chars: int) -> np.ndarray:
    """(n, letter columns) boolean: which letters (lowercased, NFC) each text contains."""
    column, script = _letter_table()
    prepared = pc.utf8_lower(pc.utf8_normalize(texts, "NFC"))
    prepared = pc.utf8_slice_codeunits(prepared, 0, max_chars)
    lengths = pc.utf8_length(prepared).to_numpy(zero_copy_only=False)
    codepoints = np.frombuffer("".join(prepared.to_pylist()).encode("utf-32-le"), np.uint32)
    row = np.repeat(np.arange(len(lengths)), lengths)
    columns = np.where(
        codepoints < _TABLE_END, column[np.minimum(codepoints, _TABLE_END - 1)], len(script) - 1
    )
    letter = columns >= 0
    present = np.zeros((len(lengths), len(script)), bool)
    present[row[letter], columns[letter]] = True
    return present


def foreign_letters(present: np.ndarray, codes: list[str]) -> np.ndarray:
    """(n, codes): distinct letters of each text that each language does not write, a letter
    of another script counting ``FOREIGN_SCRIPT_LETTERS`` per script rather than one each."""
    _, script = _letter_table()
    in_script = np.stack([present[:, script == s].any(axis=1) for s in range(len(SCRIPTS) + 1)], 1)
    outside = np.stack([_outside(code) for code in codes], axis=1).astype(np.float32)
    own = np.array([_script_index(code) for code in codes])
    other_scripts = (np.arange(len(SCRIPTS) + 1)[:, None] != own[None, :]).astype(np.float32)
    return present.astype(np.float32) @ outside + FOREIGN_SCRIPT_LETTERS * (
        in_script.astype(np.float32) @ other_scripts
    )


def marker_hits(texts: pa.Array, group: Group, max_chars: int) -> np.ndarray:
    """(n, members) counts of each member's marker words in each text."""
    prepared = pc.utf8_slice_codeunits(pc.utf8_lower(texts), 0, max_chars)
    tokens = pc.split_pattern_regex(prepared, _TOKEN_SPLIT)
    flat = pc.list_flatten(tokens)
    parents = pc.list_parent_indices(tokens).to_numpy()
    hits = np.zeros((len(texts), len(group.members)), np.float32)
    for column, pattern in enumerate(group.markers):
        if pattern is None:
            continue
        found = pc.match_substring_regex(flat, pattern).to_numpy(zero_copy_only=False)
        hits[:, column] = np.bincount(parents[found], minlength=len(texts))
    return hits


@dataclass(frozen=True)
class DecisionRules:
    """The knobs of :func:`decide`; defaults measured on the dev half of the shared langid data
    (see benchmarks/bench_langid.py)."""

    letter_penalty: float = 1.0
    marker_weight: float = 2.0
    member_floor: float = 0.1
    max_chars: int = 20_000


def decide(
    texts: pa.Array, codes: list[list[str]], probs: list[np.ndarray], rules: DecisionRules
) -> tuple[list[str], np.ndarray]:
    """The language and score of each text from its top-k ``codes`` / ``probs``."""
    evidence = load_evidence()
    vocabulary = sorted({c for row in codes for c in row})
    touched = {evidence.group_of[c].name for c in vocabulary if c in evidence.group_of}
    for group in evidence.groups:
        if group.name in touched:
            vocabulary = sorted(set(vocabulary) | set(group.members))
    column = {code: i for i, code in enumerate(vocabulary)}
    n = len(codes)
    rows = np.repeat(np.arange(n), [len(r) for r in codes])
    cols = np.array([column[c] for row in codes for c in row], dtype=np.int64)
    values = np.concatenate(probs) if n else np.zeros(0)
    model_p = np.zeros((n, len(vocabulary)))
    np.add.at(model_p, (rows, cols), values)

    penalty = foreign_letters(letters_present(texts, rules.max_chars), vocabulary)

    units = sorted({evidence.group_of[c].name if c in evidence.group_of else c for c in vocabulary})
    unit_of = {
        c: units.index(evidence.group_of[c].name if c in evidence.group_of else c)
        for c in vocabulary
    }
    merge = np.zeros((len(vocabulary), len(units)))
    merge[np.arange(len(vocabulary)), [unit_of[c] for c in vocabulary]] = 1.0
    unit_p = model_p @ merge
    unit_penalty = np.full((n, len(units)), np.inf)
    for code, i in column.items():
        unit_penalty[:, unit_of[code]] = np.minimum(unit_penalty[:, unit_of[code]], penalty[:, i])
    unit_score = np.where(
        unit_p > 0, np.log(np.maximum(unit_p, FLOOR)) - rules.letter_penalty * unit_penalty, -np.inf
    )
    best = np.argmax(unit_score, axis=1) if n else np.zeros(0, np.int64)
    chosen = np.array(units, dtype=object)[best] if n else np.array([], dtype=object)
    scores = unit_p[np.arange(n), best] if n else np.zeros(0)
    for group in evidence.groups:
        if group.name not in touched:
            continue
        picked = np.flatnonzero(chosen == group.name)
        if len(picked):
            chosen[picked] = _pick_members(
                texts.take(pa.array(picked)),
                group,
                model_p[picked],
                unit_p[picked, units.index(group.name)],
                penalty[picked],
                column,
                rules,
            )
    return chosen.tolist(), scores.astype(np.float32)


def _pick_members(
    texts: pa.Array,
    group: Group,
    model_p: np.ndarray,
    group_p: np.ndarray,
    penalty: np.ndarray,
    column: dict[str, int],
    rules: DecisionRules,
) -> np.ndarray:
    members = [column[m] for m in group.members]
    share = np.maximum(model_p[:, members] / group_p[:, None], rules.member_floor)
    score = (
        np.log(share)
        - rules.letter_penalty * penalty[:, members]
        + rules.marker_weight * marker_hits(texts, group, rules.max_chars)
    )
    return np.array(group.members, dtype=object)[np.argmax(score, axis=1)]
