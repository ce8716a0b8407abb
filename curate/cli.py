"""The ``curate`` command line."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler

from curate.engine.local import LocalEngine
from curate.inspect import render_summary
from curate.io.readers import UnsupportedInput
from curate.recipe import RecipeError, load_recipe
from curate.runner import Run, RunError, expand_inputs

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
    console.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(USAGE_ERROR)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": False})
def run(
    ctx: typer.Context,
    recipe: Annotated[Path, typer.Argument(help="Recipe YAML, e.g. recipes/fra_Latn.yaml")],
    inputs: Annotated[list[str], typer.Option("--input", "-i", help="Input files, globs or dirs")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output directory")],
    workers: Annotated[int, typer.Option(help="Worker processes")] = os.cpu_count() or 1,
    engine: Annotated[str, typer.Option(help="Execution engine: local")] = "local",
    force: Annotated[bool, typer.Option(help="Replace an output made by another recipe")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run RECIPE over the inputs, writing per-language Parquet shards to OUTPUT."""
    _setup_logging(verbose)
    extra = list(ctx.args)
    if any(arg.startswith("-") for arg in extra):
        raise fail(f"unexpected option among inputs: {' '.join(extra)}")
    try:
        loaded = load_recipe(recipe)
        paths = expand_inputs(inputs + extra)
        if engine != "local":
            raise RunError(f"unknown engine {engine!r} (available: local)")
        summary, timing = Run(loaded, paths, output, force).execute(LocalEngine(workers))
    except (RecipeError, RunError, UnsupportedInput, FileNotFoundError) as error:
        raise fail(str(error)) from None
    console.print(render_summary(summary, timing))


@app.command()
def inspect(output: Annotated[Path, typer.Argument(help="A run's output directory")]) -> None:
    """Summarise a run: languages, documents, bytes, drops per stage and reason."""
    from curate.inspect import inspect_output

    try:
        inspect_output(output, Console())
    except FileNotFoundError as error:
        raise fail(str(error)) from None


@app.command()
def mix(
    mixture: Annotated[Path, typer.Argument(help="Mixture YAML: inputs, budget, strategy")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Output directory (else output:)")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Build a training mixture from tokenized runs: manifest, shuffled shards, weights."""
    from curate.mix import MixError, build_mixture, load_mixture, render_mixture

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
