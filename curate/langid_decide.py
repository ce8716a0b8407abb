"""Deciding a document's language from a model's top-k scores plus explicit evidence.

fastText alone takes its top label. curate instead (all vectorized over a batch):

1. takes the top ``k`` labels and maps them to ISO 639-3 + script codes;
2. merges each confusable group (Serbo-Croatian, Scandinavian, ...) into one candidate whose
   probability is the sum of its members', so a split vote inside a group cannot hand the
   document to an outsider;
3. charges every candidate for letters its alphabet does not have (``letter_penalty`` per
   letter, scaled down for long texts) — this is also the script check (Cyrillic vs Latin);
4. takes the best candidate; inside a group, picks the member with marker words
   (``marker_weight`` per hit) on top of the model's own split.

The score reported is the model's probability of the chosen candidate (summed over a group).
The evidence lives in ``langid_models/evidence.yaml``; see ``langid_models/README.md``.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from curate.langid import registry_dir

SCRIPTS = ("Latn", "Cyrl", "Grek")
_OTHER_SCRIPT = len(SCRIPTS)
_TABLE_END = 0x3040  # code points above are CJK and beyond: letters of "other" scripts
_TOKEN_SPLIT = r"[^\p{L}\p{M}]+"
FLOOR = 1e-6


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
def _codepoint_tables() -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Per code point below _TABLE_END: its script class (-1 if not a letter) and its index in
    the letter inventory of all alphabets (-1 if absent)."""
    script = np.full(_TABLE_END, -1, np.int8)
    ranges = {"Latn": [(0x41, 0x24F), (0x1E00, 0x1EFF)], "Cyrl": [(0x400, 0x52F)]}
    ranges["Grek"] = [(0x370, 0x3FF), (0x1F00, 0x1FFF)]
    for cp in range(_TABLE_END):
        if unicodedata.category(chr(cp)).startswith("L"):
            script[cp] = _OTHER_SCRIPT
            for index, name in enumerate(SCRIPTS):
                if any(lo <= cp <= hi for lo, hi in ranges[name]):
                    script[cp] = index
    letters = sorted({ch for alphabet in load_evidence().alphabets.values() for ch in alphabet})
    inventory = {ch: i for i, ch in enumerate(letters)}
    position = np.full(_TABLE_END, -1, np.int32)
    for ch, i in inventory.items():
        position[ord(ch)] = i
    return script, position, inventory


@dataclass
class LetterStats:
    """Letter counts of each text: per inventory letter, per script, and in total."""

    by_letter: np.ndarray  # (n, inventory)
    by_script: np.ndarray  # (n, len(SCRIPTS) + 1)
    total: np.ndarray  # (n,)

    @classmethod
    def of(cls, texts: pa.Array, max_chars: int) -> LetterStats:
        script_of, position_of, inventory = _codepoint_tables()
        prepared = pc.utf8_lower(pc.utf8_normalize(texts, "NFC"))
        prepared = pc.utf8_slice_codeunits(prepared, 0, max_chars)
        lengths = pc.utf8_length(prepared).to_numpy(zero_copy_only=False)
        joined = "".join(prepared.to_pylist()).encode("utf-32-le")
        codepoints = np.frombuffer(joined, dtype=np.uint32)
        row = np.repeat(np.arange(len(lengths)), lengths)
        clipped = np.minimum(codepoints, _TABLE_END - 1)
        script = np.where(codepoints < _TABLE_END, script_of[clipped], _OTHER_SCRIPT)
        n, n_scripts = len(lengths), len(SCRIPTS) + 1
        is_letter = script >= 0
        by_script = np.bincount(
            row[is_letter] * n_scripts + script[is_letter], minlength=n * n_scripts
        ).reshape(n, n_scripts)
        position = np.where(codepoints < _TABLE_END, position_of[clipped], -1)
        known = position >= 0
        by_letter = np.bincount(
            row[known] * len(inventory) + position[known], minlength=n * len(inventory)
        ).reshape(n, len(inventory))
        return cls(by_letter, by_script, by_script.sum(axis=1))

    def foreign(self, code: str) -> np.ndarray:
        """How many letters of each text the language ``code`` does not write."""
        alphabet = load_evidence().alphabets.get(code)
        if alphabet is not None:
            _, _, inventory = _codepoint_tables()
            inside = self.by_letter[:, [inventory[ch] for ch in alphabet]].sum(axis=1)
            return self.total - inside
        script = code.rpartition("_")[2]
        if script in SCRIPTS:
            return self.total - self.by_script[:, SCRIPTS.index(script)]
        return self.by_script[:, : len(SCRIPTS)].sum(axis=1)


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

    letter_penalty: float = 1.5
    letter_scale_chars: int = 100
    marker_weight: float = 1.0
    member_floor: float = 1e-3
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

    letters = LetterStats.of(texts, rules.max_chars)
    scale = np.minimum(1.0, rules.letter_scale_chars / np.maximum(letters.total, 1))
    penalty = np.stack([letters.foreign(c) * scale for c in vocabulary], axis=1)

    units = sorted({evidence.group_of[c].name if c in evidence.group_of else c for c in vocabulary})
    unit_of = {c: units.index(evidence.group_of[c].name if c in evidence.group_of else c)
               for c in vocabulary}
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
                texts.take(pa.array(picked)), group, model_p[picked], unit_p[picked, units.index(group.name)],
                penalty[picked], column, rules,
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
