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
    workers: Annotated[
        int | None, typer.Option(help="Worker processes [default: cores; Ray: cluster CPUs]")
    ] = None,
    engine: Annotated[str, typer.Option(help="Execution engine: local or ray")] = "local",
    address: Annotated[
        str | None, typer.Option(help="Ray: join this cluster (auto or HOST:PORT), else start one")
    ] = None,
    wait_nodes: Annotated[
        int, typer.Option(help="Ray: wait until the cluster has this many nodes (Slurm jobs)")
    ] = 0,
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
        if engine == "ray":
            from curate.engine.ray_engine import RayEngine

            with RayEngine(address, workers, wait_nodes=wait_nodes) as ray_engine:
                summary, timing = Run(loaded, paths, output, force).execute(ray_engine)
        elif engine != "local":
            raise RunError(f"unknown engine {engine!r} (available: local, ray)")
        elif address or wait_nodes:
            raise RunError("--address and --wait-nodes need --engine ray")
        else:
            run_local = Run(loaded, paths, output, force)
            summary, timing = run_local.execute(LocalEngine(workers or os.cpu_count() or 1))
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
def slurm(
    recipe: Annotated[Path, typer.Argument(help="Recipe YAML, e.g. recipes/fra_Latn.yaml")],
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
) -> None:
    """Write an sbatch script running RECIPE on a Ray cluster over a Slurm allocation."""
    from curate.io.atomic import write_bytes
    from curate.slurm import SlurmError, SlurmJob

    job = SlurmJob(
        recipe,
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
    try:
        load_recipe(recipe)
        text = job.render()
    except (RecipeError, SlurmError) as error:
        raise fail(str(error)) from None
    if script is None:
        sys.stdout.write(text)
        return
    write_bytes(script, text.encode())
    script.chmod(0o755)
    console.print(f"wrote {script}; submit it with: sbatch {script}", soft_wrap=True)


def main() -> None:
    app(prog_name="curate")


if __name__ == "__main__":
    sys.exit(main())
