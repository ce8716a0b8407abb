"""Tokenize stage throughput vs raw batch encoding, on 1 and 2 cores, and its peak memory.

Same texts, one run: real sentences of the 75 languages in ../shared/data/langid (lingua-rs
test data, Apache-2.0), ten to a document, repeated ``--repeat`` times, written as run-output
shards ``OUT/data/mul_Zyyy/bench-NNNNN.parquet``. For each tokenizer and core count, a fresh
process pinned to that many cores measures:

- raw: the library's batch call on the texts already in memory as Python strings: tiktoken's
  ``encode_ordinary_batch`` for Tekken, ``Tokenizer.encode_batch`` (and ``encode_batch_fast``)
  plus reading ``.ids`` for the tokenizer.json backend;
- core: curate's own batch encoding (``Tokenize.encode``) on the same in-memory texts;
- stage: the whole tokenize pass, Parquet in, rewritten Parquet + ``.bin``/``.idx`` out.

Best of ``--trials`` (alternating) for each. ``stage/raw`` is stage tokens/s over the best raw
library call (wall clock); ``cpu stage/raw`` the same on process CPU time, which other jobs on
a shared machine disturb less; ``stage/core`` is what the Parquet and token-shard I/O costs.
Peak RSS is the pass alone in a fresh process over 1x, 4x and 8x a corpus (``--memory-repeat``
copies) in the same number of shards: it streams row groups, so 4x the data barely moves it.

    python benchmarks/bench_tokenize.py            # about 3 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import REPO, SHARED_DATA

LANGUAGE_DIR = "mul_Zyyy"


def build_corpus(out: Path, repeat: int, shards: int) -> None:
    import pyarrow as pa

    from curate.io.writer import ParquetSink
    from curate.recipe import OutputConfig
    from curate.schema import DOCUMENT_SCHEMA

    texts = []
    for path in sorted((SHARED_DATA / "langid").glob("*.txt")):
        lines = path.read_text(encoding="utf-8").splitlines()
        texts += ["\n".join(lines[i : i + 10]) for i in range(0, len(lines), 10)]
    texts = texts * repeat
    per_shard = -(-len(texts) // shards)
    config = OutputConfig()  # row groups of 10,000 documents, zstd 3, as a run writes them
    for number in range(shards):
        part = texts[number * per_shard : (number + 1) * per_shard]
        sink = ParquetSink(out / "data" / LANGUAGE_DIR / f"bench-{number:05d}.parquet",
                           DOCUMENT_SCHEMA, config)  # fmt: skip
        for start in range(0, len(part), 500):
            chunk = part[start : start + 500]
            n = len(chunk)
            sink.write(
                pa.table(
                    {
                        "id": [f"{number}-{start + i}" for i in range(n)],
                        "text": chunk,
                        "url": [None] * n,
                        "date": [None] * n,
                        "source": ["bench"] * n,
                        "language": [LANGUAGE_DIR] * n,
                        "language_score": pa.array([1.0] * n, pa.float32()),
                        "metadata": [None] * n,
                    }
                )
            )
        sink.close()


def read_texts(corpus: Path) -> list[str]:
    import pyarrow.parquet as pq

    texts: list[str] = []
    for shard in sorted((corpus / "data").glob("*/*.parquet")):
        texts += pq.read_table(shard, columns=["text"]).column("text").to_pylist()
    return texts


def raw_calls(tokenizer: str, cores: int):  # noqa: ANN201
    """name -> function(texts) returning the token count, for the library's batch API."""
    from curate.models.tokenizers import load_encoder, resolve_tokenizer

    encoder = load_encoder(resolve_tokenizer(tokenizer), cores)
    if encoder.backend == "tekken":
        encoding = encoder._encoding

        def encode_ordinary_batch(texts: list[str]) -> int:
            return sum(map(len, encoding.encode_ordinary_batch(texts, num_threads=cores)))

        return {"encode_ordinary_batch": encode_ordinary_batch}
    hf = encoder._tokenizer  # the library's own calls, not curate's wrapper

    def encode_batch(texts: list[str]) -> int:
        encodings = hf.encode_batch(texts, add_special_tokens=False)
        return sum(len(e.ids) for e in encodings)

    def encode_batch_fast(texts: list[str]) -> int:
        encodings = hf.encode_batch_fast(texts, add_special_tokens=False)
        return sum(len(e.ids) for e in encodings)

    return {"encode_batch": encode_batch, "encode_batch_fast": encode_batch_fast}


def in_memory_core(tokenizer: str, cores: int):  # noqa: ANN201
    """curate's own batch encoding (Tokenize.encode) on the in-memory texts: the stage less I/O."""
    from curate.models.tokenizers import Tokenize, TokenizeConfig

    stage = Tokenize(TokenizeConfig(tokenizer=tokenizer, bos=False, eos=False, threads=cores))
    return lambda texts: int(stage.encode(texts)[1].sum())


def run_stage(corpus: Path, scratch: Path, tokenizer: str, cores: int) -> tuple[float, float, int]:
    from curate.models.tokenizers import TokenizeConfig
    from curate.recipe import OutputConfig
    from curate.stages.tokenize_pass import TokenizePass
    from curate.stats import RunStats

    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(corpus, scratch)
    config = TokenizeConfig(enabled=True, tokenizer=tokenizer, bos=False, eos=False, threads=cores)
    stats = RunStats(("tokenize",))
    start, cpu = time.perf_counter(), time.process_time()
    TokenizePass(config, OutputConfig()).run(scratch, stats)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return wall, cpu, stats.summaries["tokenize"]["tokens"]


def worker(args: argparse.Namespace) -> None:
    args.cores = int(args.cores)
    os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[: args.cores]))
    corpus, scratch = Path(args.corpus), Path(args.scratch)
    if args.mode == "memory":
        from curate.models.tokenizers import load_encoder, resolve_tokenizer

        load_encoder(resolve_tokenizer(args.tokenizer), args.cores)
        loaded = resident_mib("VmRSS")
        Path("/proc/self/clear_refs").write_text("5")  # restart the peak (VmHWM) from here
        *_, tokens = run_stage(corpus, scratch, args.tokenizer, args.cores)
        peak = resident_mib("VmHWM")
        print(json.dumps({"loaded_mib": loaded, "peak_mib": peak, "tokens": tokens}))
        return
    calls = raw_calls(args.tokenizer, args.cores)
    calls["core"] = in_memory_core(args.tokenizer, args.cores)
    texts = read_texts(corpus)
    wall: dict[str, float] = {}
    cpu: dict[str, float] = {}
    tokens: dict[str, int] = {}
    for _ in range(args.trials):
        for name, call in calls.items():
            start, cpu_start = time.perf_counter(), time.process_time()
            tokens[name] = call(texts)
            wall[name] = min(wall.get(name, 1e9), time.perf_counter() - start)
            cpu[name] = min(cpu.get(name, 1e9), time.process_time() - cpu_start)
        stage = run_stage(corpus, scratch, args.tokenizer, args.cores)
        wall["stage"] = min(wall.get("stage", 1e9), stage[0])
        cpu["stage"] = min(cpu.get("stage", 1e9), stage[1])
        tokens["stage"] = stage[2]
    print(json.dumps({"wall": wall, "cpu": cpu, "tokens": tokens, "docs": len(texts)}))


def resident_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def spawn(mode: str, tokenizer: str, cores: int, corpus: Path, scratch: Path, trials: int) -> dict:
    env = {**os.environ, "RAYON_NUM_THREADS": str(cores), "PYTHONPATH": str(REPO)}
    command = [sys.executable, __file__, "--worker", "--mode", mode, "--tokenizer", tokenizer,
               "--cores", str(cores), "--corpus", str(corpus), "--scratch", str(scratch),
               "--trials", str(trials)]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"worker failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=4, help="copies of the langid corpus")
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--memory-repeat", type=int, default=8, help="1x of the memory runs")
    parser.add_argument("--cores", default="1,2")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="speed", help=argparse.SUPPRESS)
    parser.add_argument("--tokenizer", default="tekken_240911", help=argparse.SUPPRESS)
    parser.add_argument("--corpus", help=argparse.SUPPRESS)
    parser.add_argument("--scratch", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    sys.path.insert(0, str(REPO))
    from curate.models.tokenizers import shipped_tokenizers
    from tests.tokenizer_files import tekken_as_tokenizer_json

    with tempfile.TemporaryDirectory(prefix="bench-tokenize-") as tmp:
        root = Path(tmp)
        hf = tekken_as_tokenizer_json(shipped_tokenizers()["tekken_240911"], root / "hf")
        corpus = root / "corpus"
        build_corpus(corpus, args.repeat, args.shards)
        size = sum(p.stat().st_size for p in corpus.rglob("*.parquet"))
        tokenizers = {"tekken_240911 (tiktoken)": "tekken_240911", "tokenizer.json (HF)": str(hf)}
        print(f"corpus: {args.repeat}x langid sentences (75 languages), {args.shards} shards, "
              f"{size / 2**20:.1f} MiB Parquet; best of {args.trials}")  # fmt: skip
        header = (f"{'tokenizer':<26} {'cores':>5} {'tokens':>10} {'raw call':<22} "
                  f"{'raw Mtok/s':>10} {'stage Mtok/s':>12} {'stage/raw':>9} "
                  f"{'cpu stage/raw':>13} {'core Mtok/s':>11} {'stage/core':>10}")  # fmt: skip
        print(header)
        print("-" * len(header))
        for label, tokenizer in tokenizers.items():
            for cores in (int(c) for c in args.cores.split(",")):
                result = spawn("speed", tokenizer, cores, corpus, root / "scratch", args.trials)
                wall, cpu, tokens = result["wall"], result["cpu"], result["tokens"]
                raw_name = min((k for k in wall if k not in ("stage", "core")), key=wall.get)
                assert tokens[raw_name] == tokens["stage"], tokens
                raw = tokens["stage"] / wall[raw_name] / 1e6
                stage = tokens["stage"] / wall["stage"] / 1e6
                cpu_ratio = cpu[raw_name] / cpu["stage"]
                core = tokens["stage"] / wall["core"] / 1e6
                others = ", ".join(
                    f"{k} {tokens[k] / v / 1e6:.2f}" for k, v in wall.items()
                    if k not in ("stage", raw_name, "core")
                )  # fmt: skip
                print(f"{label:<26} {cores:>5} {tokens['stage']:>10,} {raw_name:<22} {raw:>10.2f} "
                      f"{stage:>12.2f} {stage / raw:>9.2f} {cpu_ratio:>13.2f} {core:>11.2f} "
                      f"{stage / core:>10.2f}"
                      + (f"  ({others})" if others else ""))  # fmt: skip
        print()
        print(f"{'corpus':<10} {'Parquet MiB':>11} {'tokens':>11} {'RSS after load MiB':>18} "
              f"{'peak RSS MiB':>12}")  # fmt: skip
        for factor in (1, 4, 8):
            big = root / f"corpus-x{factor}"
            build_corpus(big, args.memory_repeat * factor, args.shards)
            size = sum(p.stat().st_size for p in big.rglob("*.parquet"))
            result = spawn("memory", "tekken_240911", 2, big, root / "scratch", 1)
            print(f"{f'{factor}x':<10} {size / 2**20:>11.1f} {result['tokens']:>11,} "
                  f"{result['loaded_mib']:>18.0f} {result['peak_mib']:>12.0f}")  # fmt: skip
            shutil.rmtree(big)


if __name__ == "__main__":
    main()
