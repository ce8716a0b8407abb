"""curate: turn web crawls into clean, per-language training data."""

from __future__ import annotations

import logging
import os
import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler

from curate.core.errors import RunError, require_extra
from curate.dedup.index import DedupIndexError
from curate.engine.local import LocalEngine
from curate.engine.progress import ConsoleProgress
from curate.io.readers import UnsupportedInput
from curate.models.tokenizers import Tokenize, TokenizerError
from curate.recipe import Recipe, RecipeError, load_recipe, locate_recipe, shipped_languages
from curate.runner import Interrupted, Run, expand_inputs, refuse_url
from curate.tools.inspect_output import render_summary

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
console = Console(stderr=True)
USAGE_ERROR = 2


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False)],
    )


def fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(USAGE_ERROR)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": False})
def run(
    ctx: typer.Context,
    recipe: Annotated[
        Path, typer.Argument(help="A shipped recipe by name (e.g. fra_Latn) or a recipe file")
    ],
    inputs: Annotated[list[str], typer.Option("--input", "-i", help="Input files, globs or dirs")],
    output_spec: Annotated[str, typer.Option("--output", "-o", help="Output directory")],
    workers: Annotated[
        int | None, typer.Option(help=r"Worker processes \[default: cores; Ray: cluster CPUs]")
    ] = None,
    engine: Annotated[str, typer.Option(help="Execution engine: local or ray")] = "local",
    address: Annotated[
        str | None, typer.Option(help="Ray: join this cluster (auto or HOST:PORT), else start one")
    ] = None,
    wait_nodes: Annotated[
        int, typer.Option(help="Ray: wait until the cluster has this many nodes (Slurm jobs)")
    ] = 0,
    force: Annotated[
        bool, typer.Option(help="Delete what OUTPUT holds from an earlier run, then run")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run RECIPE over the inputs, writing per-language Parquet shards to OUTPUT."""
    _setup_logging(verbose)
    extra = list(ctx.args)
    if any(arg.startswith("-") for arg in extra):
        raise fail(f"unexpected option among inputs: {' '.join(extra)}")
    if workers is not None and workers < 1:
        raise fail(f"--workers must be 1 or more, not {workers}")
    try:
        refuse_url(output_spec, "output")
        output = Path(output_spec)
        loaded = load_recipe(recipe)
        paths = expand_inputs(inputs + extra, exclude=output)
        if loaded.tokenize.enabled:
            Tokenize(loaded.tokenize).check()  # before hours of work, not after
        if engine == "ray":
            from curate.engine.ray_engine import RayEngine

            with RayEngine(address, workers, wait_nodes=wait_nodes) as ray_engine:
                summary, timing = Run(loaded, paths, output, force).execute(
                    ray_engine, ConsoleProgress(console)
                )
        elif engine != "local":
            raise RunError(f"unknown engine {engine!r} (available: local, ray)")
        elif address or wait_nodes:
            raise RunError("--address and --wait-nodes need --engine ray")
        else:
            run_local = Run(loaded, paths, output, force)
            local = LocalEngine(workers or os.cpu_count() or 1)
            summary, timing = run_local.execute(local, ConsoleProgress(console))
    except (
        RecipeError,
        RunError,
        UnsupportedInput,
        FileNotFoundError,
        TokenizerError,
        DedupIndexError,
    ) as error:
        raise fail(str(error)) from None
    except Interrupted as stop:
        console.print(stop.message, highlight=False)
        raise typer.Exit(stop.exit_code) from None
    console.print(render_summary(summary, timing))


@app.command()
def refilter(
    source: Annotated[Path, typer.Argument(help="A finished run that kept signals")],
    recipe: Annotated[Path, typer.Option(help="The recipe to re-decide it with")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output directory")],
    force: Annotated[bool, typer.Option(help="Replace an output made by another recipe")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Apply RECIPE's language selection and thresholds to SOURCE's kept signals."""
    from curate.tools.refilter import refilter as refilter_run

    _setup_logging(verbose)
    try:
        summary, timing = refilter_run(source, load_recipe(recipe), output, force)
    except (RecipeError, RunError, FileNotFoundError) as error:
        raise fail(str(error)) from None
    console.print(render_summary(summary, timing))


@app.command()
def inspect(output: Annotated[Path, typer.Argument(help="A run's output directory")]) -> None:
    """Summarise a run: languages, documents, bytes, drops per stage and reason."""
    from curate.tools.inspect_output import IncompleteRun, inspect_output

    try:
        inspect_output(output, Console())
    except (FileNotFoundError, IncompleteRun) as error:
        raise fail(str(error)) from None


@app.command()
def slurm(
    recipe: Annotated[
        Path, typer.Argument(help="A shipped recipe by name (e.g. fra_Latn) or a recipe file")
    ],
    inputs: Annotated[list[str], typer.Option("--input", "-i", help="Input files, globs or dirs")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output directory")],
    nodes: Annotated[int, typer.Option(help="Nodes: a Ray head on the first, workers on the rest")],
    partition: Annotated[str, typer.Option(help="Slurm partition")],
    time: Annotated[str, typer.Option(help="Time limit, e.g. 12:00:00 or 2-00:00")],
    cpus_per_node: Annotated[int | None, typer.Option(help="CPUs per node")] = None,
    mem: Annotated[str | None, typer.Option(help="Memory per node, e.g. 200G")] = None,
    account: Annotated[str | None, typer.Option(help="Account to charge")] = None,
    job_name: Annotated[str, typer.Option(help="Job name")] = "curate",
    module: Annotated[list[str] | None, typer.Option(help="Module to load (repeatable)")] = None,
    venv: Annotated[Path | None, typer.Option(help="Python environment to activate")] = None,
    setup: Annotated[list[str] | None, typer.Option(help="Extra setup line (repeatable)")] = None,
    sbatch: Annotated[list[str] | None, typer.Option(help="Extra #SBATCH option (repeat)")] = None,
    script: Annotated[Path | None, typer.Option(help="Write the script here, else stdout")] = None,
    check_inputs: Annotated[
        bool, typer.Option(help="Check now that every input exists (off: not visible here)")
    ] = True,
) -> None:
    """Write an sbatch script running RECIPE on a Ray cluster over a Slurm allocation."""
    from curate.io.atomic import write_bytes
    from curate.slurm import SlurmError, SlurmJob, expand

    try:
        recipe_file = locate_recipe(expand(str(recipe), "recipe"))  # ~/r.yaml, or a name
        load_recipe(recipe_file)
        job = SlurmJob(
            recipe_file,
            inputs,
            output,
            nodes,
            partition,
            time,
            cpus_per_node,
            mem,
            account,
            job_name,
            module or [],
            venv,
            setup or [],
            sbatch or [],
        )
        job.validate()
        if check_inputs:
            job.check_inputs()
        text = job.render()
    except (RecipeError, SlurmError) as error:
        raise fail(str(error)) from None
    if script is None:
        sys.stdout.write(text)
        return
    write_bytes(script, text.encode())
    script.chmod(0o755)
    console.print(f"wrote {script}; submit it with: sbatch {script}", soft_wrap=True)


@app.command("eval-langid")
def eval_langid(
    data: Annotated[Path, typer.Option(help="Directory of labelled <code>.txt files")],
    model: Annotated[str | None, typer.Option(help="Registered langid model")] = None,
    recipe: Annotated[Path | None, typer.Option(help="Take langid settings from a recipe")] = None,
    decision: Annotated[str | None, typer.Option(help="evidence (curate) or top1 (raw)")] = None,
    languages: Annotated[
        str | None,
        typer.Option(
            help=r"Codes to score, comma-separated, or all \[default: the recipe's, else all]"
        ),
    ] = None,
    min_score: Annotated[
        float | None, typer.Option(help="One threshold for every language (0: none)")
    ] = None,
    pages: Annotated[int, typer.Option(help="Join N lines into one text (0: sentences)")] = 0,
    split: Annotated[str, typer.Option(help="all, dev (first half) or test")] = "all",
) -> None:
    """Per-language precision, recall, F1 and confusions of language ID on labelled text."""
    from curate.models.langid import ModelNotFound
    from curate.pipeline import langid_config
    from curate.recipe import LangIdConfig
    from curate.tools.eval_langid import as_table, evaluate, load_labelled

    try:
        loaded = load_recipe(recipe) if recipe else None
        config = langid_config(loaded) if loaded else LangIdConfig(min_score=0.0)
        overrides = {"model": model, "decision": decision}
        config = config.model_copy(update={k: v for k, v in overrides.items() if v})
        if min_score is not None:
            config = config.model_copy(
                update={"min_score": min_score, "min_score_per_language": {}}
            )
        config = LangIdConfig.model_validate(config.model_dump())
        if split not in ("all", "dev", "test"):
            raise RecipeError(f"--split must be all, dev or test, not {split!r}")
        labelled = load_labelled(data, pages, split)  # type: ignore[arg-type]
        report = evaluate(config, labelled, scored_languages(languages, loaded))
    except (RecipeError, ModelNotFound, FileNotFoundError, ValueError) as error:
        raise fail(str(error)) from None
    title = f"{config.model} ({config.decision}) on {data}" + (
        f", pages of {pages}" if pages else ""
    )
    typer.echo("\n".join(as_table(report, title)))


@app.command("train-quality")
def train_quality(
    positive: Annotated[
        Path, typer.Option(help="High-quality texts: JSONL, Parquet, .txt, or a run's output")
    ],
    negative: Annotated[
        Path, typer.Option(help="Low-quality texts: JSONL, Parquet, .txt, or a run's output")
    ],
    output: Annotated[Path, typer.Option(help="The model file to write (.bin)")],
    epochs: Annotated[int, typer.Option(help="Training epochs")] = 10,
    word_ngrams: Annotated[int, typer.Option(help="Word n-gram features")] = 2,
) -> None:
    """Train a fastText quality classifier for the quality_model stage; print held-out metrics."""
    from curate.tools.train_quality import card_path, read_texts, train

    try:
        positives = read_texts(positive, "positive")
        negatives = read_texts(negative, "negative")
        if not positives or not negatives:
            raise ValueError("--positive and --negative must each hold at least one text")
        card = train(positives, negatives, output, epochs, word_ngrams)
    except (FileNotFoundError, ValueError) as error:
        raise fail(str(error)) from None
    metrics = card["metrics"]
    typer.echo(
        f"{output}: {card['data']['train']} training texts, {metrics['held_out']} held out: "
        f"precision {metrics['precision']:.3f}, recall {metrics['recall']:.3f}, "
        f"AUC {metrics['auc']:.3f}\nsha256 {card['sha256']}; card {card_path(output)}"
    )


def scored_languages(option: str | None, recipe: Recipe | None) -> list[str] | None:
    """``--languages`` as a list, else the recipe's languages; None means every language."""
    if option == "all":
        return None
    if option:
        return option.split(",")
    if recipe is None or recipe.languages == "all":
        return None
    return list(recipe.languages)


@app.command()
def calibrate(
    language: Annotated[str, typer.Option(help="The sample's language, e.g. fra_Latn")],
    inputs: Annotated[
        list[str] | None, typer.Option("--input", "-i", help="Reference sample files")
    ] = None,
    signals: Annotated[
        Path | None,
        typer.Option(help="A run kept with output.signals: calibrate on its signals table"),
    ] = None,
    quantiles: Annotated[str, typer.Option(help="LOW,HIGH: min rules at LOW, max at HIGH")] = (
        "0.05,0.95"
    ),
    recipe: Annotated[Path | None, typer.Option(help="Recipe to start from and extend")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write overrides")] = None,
    reference: Annotated[
        Path | None, typer.Option(help="FineWeb-2 config (configs/<lang>.yml) to compare")
    ] = None,
    max_docs: Annotated[int, typer.Option(help="Use at most this many documents")] = 20_000,
) -> None:
    """Filter statistics of a reference sample; recipe thresholds at the chosen quantiles."""
    from curate.models.language_codes import check_languages
    from curate.tools import calibrate as qc

    try:
        low, high = qc.parse_quantiles(quantiles)
        loaded = load_recipe(recipe) if recipe else None
        if signals is not None:
            result = qc.calibrate_from_signals(signals, language, loaded, low, high)
        elif inputs:
            model = loaded.langid.model if loaded else "lid176"
            check_languages([language], model, "--language", shipped_languages())
            paths = expand_inputs(inputs)
            result = qc.run_calibration(paths, language, loaded, low, high, max_docs)
        else:
            raise ValueError("give the sample with --input, or a run's signals with --signals")
        published = qc.load_reference(reference) if reference else None
    except (RecipeError, RunError, UnsupportedInput, FileNotFoundError, ValueError) as error:
        raise fail(str(error)) from None
    out = Console(width=max(shutil.get_terminal_size().columns, 150))
    out.print(qc.distribution_table(result))
    out.print(qc.threshold_table(result, published))
    if output is not None:
        sample = inputs or [f"{signals}/signals/{language}"]
        qc.write_overrides(output, qc.overrides_yaml(result, sample, recipe, output))
        console.print(f"overrides written to {output}")


@app.command()
def card(
    output: Annotated[Path, typer.Argument(help="A run's output directory")],
    eu_summary: Annotated[
        bool, typer.Option(help="Also write EU_TRAINING_CONTENT_SUMMARY.md (AI Act Art. 53)")
    ] = False,
    repo: Annotated[
        str | None, typer.Option(help="Hub repository ORG/NAME the loading snippets point to")
    ] = None,
    license: Annotated[str, typer.Option(help="Licence id for the card's metadata")] = "odc-by",
    pretty_name: Annotated[str | None, typer.Option(help="Title of the dataset")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite a card edited by hand")] = False,
) -> None:
    """Write OUTPUT/README.md, a Hugging Face dataset card, with plots in OUTPUT/assets/."""
    from curate.card import CardError, CardOptions, write_card

    try:
        options = CardOptions(license=license, pretty_name=pretty_name, repo=repo)
        result = write_card(output, options, eu_summary=eu_summary, force=force)
    except CardError as error:
        raise fail(str(error)) from None
    for relative in result.written:
        console.print(f"wrote {output / relative}", highlight=False)


@app.command()
def publish(
    output: Annotated[Path, typer.Argument(help="A run's output directory, with its card")],
    repo: Annotated[str, typer.Option(help="Hub dataset repository, ORG/NAME")],
    private: Annotated[bool, typer.Option(help="Create the repository private")] = False,
    revision: Annotated[str, typer.Option(help="Branch to commit to")] = "main",
    dry_run: Annotated[
        bool, typer.Option(help="List what would be uploaded; change nothing, no network")
    ] = False,
    compare_hub: Annotated[
        bool, typer.Option(help="Dry run: ask the Hub which files are there already")
    ] = False,
    commit_files: Annotated[int, typer.Option(min=1, help="Files per commit at most")] = 100,
    commit_bytes: Annotated[int, typer.Option(min=1, help="Bytes per commit at most")] = 10**10,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Upload shards, card and assets to the Hugging Face Hub; re-run to resume."""
    try:
        require_extra("huggingface_hub", "hub", "curate publish")
    except RunError as error:
        raise fail(str(error)) from None
    from huggingface_hub.errors import HfHubHTTPError

    from curate.publish import PublishError, network_errors, publish_output, quiet_http_logs

    _setup_logging(verbose)
    quiet_http_logs(verbose)
    try:
        publish_output(
            output,
            repo,
            private,
            revision,
            dry_run,
            commit_files,
            commit_bytes,
            Console(),
            compare=compare_hub,
        )
    except (PublishError, HfHubHTTPError, *network_errors()) as error:
        raise fail(str(error) or type(error).__name__) from None
    except ValueError as error:  # huggingface_hub's verdict on the card's metadata
        raise fail(str(error)) from None


@app.command()
def erase(
    output: Annotated[Path, typer.Argument(help="A finished run's output directory")],
    urls: Annotated[Path | None, typer.Option(help="File of URLs to erase, one a line")] = None,
    domains: Annotated[
        Path | None, typer.Option(help="File of domains: their hosts and subdomains go")
    ] = None,
    ids: Annotated[Path | None, typer.Option(help="File of document ids, one a line")] = None,
    hashes: Annotated[
        list[Path] | None,
        typer.Option("--list", help="An erasure list (hashes), e.g. another run's (repeatable)"),
    ] = None,
    reason: Annotated[str, typer.Option(help="Why (kept in the erasure log)")] = "",
    received: Annotated[
        str | None, typer.Option(help="When the request came in (ISO 8601) [default: now]")
    ] = None,
    mix: Annotated[
        list[Path] | None, typer.Option(help="A mixture built from OUTPUT (repeatable)")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Remove documents from OUTPUT (shards, tokens, ledgers, stats, card) and its mixtures.

    Without a request file, completes an interrupted erasure."""
    from curate.erasure.erase import Request, erase, parse_received
    from curate.erasure.state import EraseError
    from curate.stages.compliance.erasure import (
        ErasureListError,
        load_list,
        read_entries,
        request_hashes,
    )

    _setup_logging(verbose)
    try:
        listed = {
            k: read_entries(p) if p else [] for k, p in (("u", urls), ("d", domains), ("i", ids))
        }
        request = None
        if urls or domains or ids or hashes:
            found = request_hashes(listed["u"], listed["d"], listed["i"])
            for path in hashes or []:
                found.update(load_list(path))
            if not found:
                raise EraseError("the request files name nothing to erase")
            mixtures = tuple(str(m.resolve()) for m in mix or [])
            request = Request(found, reason, parse_received(received), mixtures)
        elif mix:
            raise EraseError("--mix needs a request (--urls, --domains, --ids or --list)")
        outcomes = erase(output, request, lambda line: console.print(line, highlight=False))
    except (EraseError, ErasureListError, ValueError, OSError) as error:
        raise fail(str(error)) from None
    for outcome in outcomes:
        files = sum(1 for n in outcome.files.values() if n)
        completed = " (an interrupted erasure, completed)" if outcome.resumed else ""
        console.print(
            f"erased {outcome.documents} document(s), rows in {files} file(s): "
            f"request {outcome.request}{completed}, logged in {output}/erasure/log.jsonl",
            highlight=False,
        )
    if not outcomes:
        console.print(f"{output}: no request and no interrupted erasure; nothing to do")


@app.command()
def mix(
    mixture: Annotated[Path, typer.Argument(help="Mixture YAML: inputs, budget, strategy")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Output directory (else output:)")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Build a training mixture from tokenized runs: manifest, shuffled shards, weights."""
    from curate.mixture.plan import MixError, build_mixture, load_mixture, render_mixture

    _setup_logging(verbose)
    try:
        config = load_mixture(mixture)
        target = output or (Path(config.output) if config.output else None)
        if target is None:
            raise MixError(f"{mixture}: no output: set output: in the mixture or pass --output")
        manifest = build_mixture(config, target)
    except MixError as error:
        raise fail(str(error)) from None
    console.print(render_mixture(manifest))
    console.print(f"wrote {target}/manifest.md, {len(manifest['shards'])} shards")


def main() -> None:
    app(prog_name="curate")


if __name__ == "__main__":
    sys.exit(main())
