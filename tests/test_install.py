"""A non-editable install (a wheel, as on a cluster) carries its recipes and model tables.

The wheel is built from a copy of the sources and installed without its dependencies into a
fresh virtual environment, which borrows this environment's packages (not its editable
``curate``) through a path file; then ``curate run fra_Latn`` runs from another directory.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from .conftest import REPO

FRENCH = (
    "La boulangerie du quartier ouvre ses portes chaque matin avant le lever du soleil. "
    "Les habitants viennent y acheter du pain frais, des croissants et des brioches encore "
    "chaudes. Le boulanger travaille depuis plus de vingt ans dans ce petit commerce familial, "
    "qu'il a repris de son père. Il explique que la qualité de la farine et le temps de repos "
    "de la pâte font toute la différence. Pendant les fêtes, la file d'attente s'allonge sur "
    "le trottoir, mais personne ne semble s'en plaindre. On y croise des voisins, des enfants "
    "sur le chemin de l'école et des touristes curieux qui découvrent les spécialités de la "
    "région. Le soir, les invendus sont donnés à une association qui aide les familles dans "
    "le besoin, une habitude que le boulanger tient à conserver malgré les difficultés."
)


def _article(number: int) -> str:
    """A French article, a sentence a line, as the quality filters want."""
    return FRENCH.replace(". ", ".\n") + f"\nCeci est l'exemplaire numéro {number}."


def _run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _build_wheel(tmp_path: Path) -> Path:
    source = tmp_path / "source"
    shutil.copytree(
        REPO / "curate", source / "curate", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    wheels = tmp_path / "wheels"
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", wheels, source)
    return next(wheels.glob("curate-*.whl"))


def _fresh_venv(root: Path) -> Path:
    venv.create(root, with_pip=True)
    python = root / "bin" / "python"
    purelib = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    # This environment's dependencies, as plain paths: the .pth files there (the editable
    # curate's among them) are not processed, so `import curate` finds the wheel's.
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(purelib.stdout.strip()) / "borrowed.pth").write_text("\n".join(sorted(ours)) + "\n")
    return python


@pytest.mark.slow
def test_wheel_runs_a_shipped_recipe_by_name_from_another_directory(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path)
    python = _fresh_venv(tmp_path / "venv")
    _run(python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    documents = elsewhere / "docs.jsonl"
    documents.write_text(
        "".join(json.dumps({"id": f"d{n}", "text": _article(n)}) + "\n" for n in range(3))
    )
    located = _run(python, "-c", "import curate; print(curate.__file__)", cwd=elsewhere)
    assert "site-packages" in located.stdout and str(REPO) not in located.stdout
    curate = tmp_path / "venv" / "bin" / "curate"
    _run(curate, "run", "fra_Latn", "--input", documents, "--output", "out", cwd=elsewhere)
    stats = json.loads((elsewhere / "out" / "stats.json").read_text())
    assert stats["totals"]["docs_read"] == 3  # two dropped as duplicates (numbers fold to 0)
    manifest = json.loads((elsewhere / "out" / "manifest.json").read_text())
    assert manifest["recipe"]["name"] == "fra_Latn"
    assert len(list((elsewhere / "out" / "data" / "fra_Latn").glob("*.parquet"))) == 1
