"""`curate eval-langid` on real labelled sentences (shared/data/langid)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from curate.cli import app
from curate.tools.eval_langid import gold_code

LINES = 60


def _subset(shared_data: Path, tmp_path: Path) -> Path:
    for code in ("bs", "hr", "nb", "nn", "sr", "mk", "ga", "en"):
        lines = (shared_data / "langid" / f"{code}.txt").read_text().splitlines()[:LINES]
        (tmp_path / f"{code}.txt").write_text("\n".join(lines) + "\n")
    return tmp_path


def _macro(output: str) -> float:
    line = next(ln for ln in output.splitlines() if ln.startswith("macro F1"))
    return float(line.split()[2])


def test_file_names_map_to_codes() -> None:
    assert [gold_code(c) for c in ("nb", "sr", "et", "sq", "fra_Latn", "zu")] == [
        "nob_Latn",
        "srp_Cyrl",
        "ekk_Latn",
        "als_Latn",
        "fra_Latn",
        "zu",
    ]


def test_eval_langid_reports_per_language_scores(shared_data: Path, tmp_path: Path) -> None:
    data = _subset(shared_data, tmp_path)
    runner = CliRunner()
    raw = runner.invoke(app, ["eval-langid", "--data", str(data), "--decision", "top1"])
    curate = runner.invoke(app, ["eval-langid", "--data", str(data)])
    assert raw.exit_code == 0 and curate.exit_code == 0, raw.output + curate.output
    assert "| nno_Latn | 60 |" in curate.output
    assert "most often predicted instead" in curate.output
    assert _macro(curate.output) > _macro(raw.output) + 0.05


def test_eval_langid_scores_only_the_asked_languages(shared_data: Path, tmp_path: Path) -> None:
    data = _subset(shared_data, tmp_path)
    result = CliRunner().invoke(
        app,
        ["eval-langid", "--data", str(data), "--languages", "srp_Cyrl,mkd_Cyrl", "--pages", "5"],
    )
    assert result.exit_code == 0, result.output
    assert "over 2 languages" in result.output and "| srp_Cyrl | 12 |" in result.output


def test_eval_langid_fails_clearly(tmp_path: Path) -> None:
    runner = CliRunner()
    empty = runner.invoke(app, ["eval-langid", "--data", str(tmp_path)])
    assert empty.exit_code == 2 and "no labelled" in empty.output
    (tmp_path / "fr.txt").write_text("Bonjour tout le monde.\n")
    unknown = runner.invoke(app, ["eval-langid", "--data", str(tmp_path), "--model", "nope"])
    assert unknown.exit_code == 2 and "unknown langid model" in unknown.output


def test_macro_f1_over_languages_with_data_and_skips_named(
    shared_data: Path, tmp_path: Path
) -> None:
    data = _subset(shared_data, tmp_path)
    (data / "zu.txt").write_text("Sawubona, unjani namhlanje?\n")
    runner = CliRunner()
    asked = runner.invoke(
        app, ["eval-langid", "--data", str(data), "--languages", "srp_Cyrl,mlt_Latn"]
    )
    assert asked.exit_code == 0, asked.output
    srp = next(ln for ln in asked.output.splitlines() if ln.startswith("| srp_Cyrl"))
    assert abs(_macro(asked.output) - float(srp.split("|")[5])) <= 5e-4  # mlt_Latn not a 0
    assert "over 1 languages" in asked.output
    assert "skipped (no labelled text): mlt_Latn" in asked.output
    default = runner.invoke(app, ["eval-langid", "--data", str(data)])
    assert default.exit_code == 0 and "| zu |" not in default.output
    assert "over 8 languages" in default.output
    assert "not scored (no language code; input as distractors): zu" in default.output


def test_recipe_languages_are_the_default(shared_data: Path, tmp_path: Path) -> None:
    data = _subset(shared_data, tmp_path)
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: r\nlanguages: [nob_Latn, nno_Latn, dan_Latn]\n")
    result = CliRunner().invoke(app, ["eval-langid", "--data", str(data), "--recipe", str(recipe)])
    assert result.exit_code == 0, result.output
    assert "over 2 languages" in result.output and "skipped (no labelled text): dan_Latn" in (
        result.output
    )
    every = CliRunner().invoke(
        app, ["eval-langid", "--data", str(data), "--recipe", str(recipe), "--languages", "all"]
    )
    assert "over 8 languages" in every.output
