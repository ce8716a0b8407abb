"""Regenerate lid176.tsv: fastText lid.176 labels to ISO 639-3 + script codes.

Codes follow FineWeb-2 / GlotLID conventions (``ekk_Latn`` for Estonian, ``lvs_Latn`` for
Latvian, ``als_Latn`` for Albanian, ``nob_Latn`` for Norwegian); other labels are mapped with
``langcodes`` (ISO 639-1 to 639-3 and the likely script). Needs ``pip install langcodes
language_data``; run ``python -m curate.tools.make_lid176_map``.
"""

from pathlib import Path

import langcodes

from curate.models.langid import lid176_labels

# lid.176 uses Wikipedia codes ("als" is Alemannic there) and macro-languages.
OVERRIDES = {
    "als": "gsw_Latn",
    "sq": "als_Latn",
    "et": "ekk_Latn",
    "lv": "lvs_Latn",
    "no": "nob_Latn",
    "nn": "nno_Latn",
    "sr": "srp_Cyrl",
    "sh": "hbs_Latn",
    "ar": "arb_Arab",
    "fa": "pes_Arab",
    "zh": "cmn_Hani",
    "ms": "zsm_Latn",
    "uz": "uzn_Latn",
    "az": "azj_Latn",
    "azb": "azb_Arab",
    "ku": "kmr_Latn",
    "mn": "khk_Cyrl",
    "ne": "npi_Deva",
    "sw": "swh_Latn",
    "yi": "ydd_Hebr",
    "ps": "pbt_Arab",
    "wuu": "wuu_Hani",
    "yue": "yue_Hani",
    "bh": "bho_Deva",
    "qu": "quy_Latn",
    "mg": "plt_Latn",
    "eml": "egl_Latn",
    "ja": "jpn_Jpan",
    "ko": "kor_Hang",
}


def code_for(label: str) -> str:
    if label in OVERRIDES:
        return OVERRIDES[label]
    language = langcodes.Language.get(label)
    return f"{language.to_alpha3()}_{language.maximize().script}"


def main() -> None:
    lines = [
        "# lid.176 label -> ISO 639-3 + ISO 15924 script; made by make_lid176_map.py",
        "label\tcode",
    ]
    lines += [f"{label}\t{code_for(label)}" for label in sorted(lid176_labels())]
    table = Path(__file__).resolve().parents[1] / "models" / "data" / "lid176.tsv"
    table.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
