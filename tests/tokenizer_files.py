"""Real Hugging Face ``tokenizer.json`` files for tests, made offline from shipped data.

``tekken_as_tokenizer_json`` rewrites mistral-common's Tekken vocabulary (tiktoken ranks) as a
``tokenizers`` byte-level BPE: every two-piece split of a token into known tokens becomes a
merge ranked by the merged token, and a pre-token already in the vocabulary is kept whole
(``ignore_merges``), which is how tiktoken encodes. Ids are Tekken's (rank + special tokens),
so its ids can be checked against Mistral's own Tekkenizer.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path


def _byte_alphabet() -> dict[int, str]:
    """GPT-2's printable stand-in character for each byte, as ``ByteLevel`` uses."""
    printable = [*range(33, 127), *range(161, 173), *range(174, 256)]
    mapping = {b: chr(b) for b in printable}
    extra = 0
    for byte in range(256):
        if byte not in mapping:
            mapping[byte] = chr(256 + extra)
            extra += 1
    return mapping


def tekken_as_tokenizer_json(tekken: Path, out_dir: Path) -> Path:
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers

    data = json.loads(tekken.read_text(encoding="utf-8"))
    config = data["config"]
    specials = config["default_num_special_tokens"]
    inner = config["default_vocab_size"] - specials
    ranks = {base64.b64decode(t["token_bytes"]): t["rank"] for t in data["vocab"][:inner]}
    alphabet = _byte_alphabet()

    def text(piece: bytes) -> str:
        return "".join(alphabet[b] for b in piece)

    merges = []
    for token, rank in ranks.items():
        merges += [
            (rank, ranks[token[:i]], ranks[token[i:]], token[:i], token[i:])
            for i in range(1, len(token))
            if token[:i] in ranks and token[i:] in ranks
        ]
    merges.sort(key=lambda m: m[:3])
    vocab = {text(piece): rank + specials for piece, rank in ranks.items()}
    model = models.BPE(
        vocab=vocab, merges=[(text(m[3]), text(m[4])) for m in merges], ignore_merges=True
    )
    tokenizer = Tokenizer(model)
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(config["pattern"]), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens(["<s>", "</s>"])
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(out_dir / "tokenizer.json"))
    (out_dir / "tokenizer_config.json").write_text(
        json.dumps({"bos_token": "<s>", "eos_token": {"content": "</s>"}})
    )
    return out_dir / "tokenizer.json"


def small_bpe_tokenizer_json(texts: list[str], out_dir: Path, vocab_size: int = 2000) -> Path:
    """A byte-level BPE trained on ``texts``: a real tokenizer whose ids fit uint16."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<bos>", "<eos>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator(texts, trainer)
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(out_dir / "tokenizer.json"))
    return out_dir / "tokenizer.json"
