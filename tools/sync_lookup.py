"""Writes data/nlu/lookup_subject.yml: every surface form of the `subject` entity, from the synonyms.yml of
each language (data/nlu/<language>/synonyms.yml).

The RegexEntityExtractor finds these words wherever they appear ("What does AVRR mean?"), where the CRF
alone misses unseen contexts; the synonyms files stay the one place to add a form. The lookup matches
without regard to case, so forms that are an everyday word in another of our languages are left to the CRF
(`AMBIGUOUS`: "UN" would match the French article "un" in almost every French sentence). `make`
regenerates the file and a test checks it is in sync. Usage: python -m tools.sync_lookup [--check]
"""
from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SYNONYMS = sorted((ROOT / "data" / "nlu").glob("*/synonyms.yml"))
LOOKUP = ROOT / "data" / "nlu" / "lookup_subject.yml"
HEADER = "# Generated from data/nlu/*/synonyms.yml by `python -m tools.sync_lookup`; do not edit.\n"
AMBIGUOUS = {"un"}


def render() -> str:
    forms = set()
    for path in SYNONYMS:
        for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            if "synonym" in block:
                forms.update(line.strip()[2:].lower() for line in block["examples"].splitlines() if line.strip())
                if "_" not in block["synonym"]:
                    forms.add(block["synonym"].lower())
    forms -= AMBIGUOUS
    # Longest first: Rasa joins the forms into one alternation, where the first that matches at a position wins,
    # so "protection space" must come before "protection" to be found at all.
    items = "".join(f"    - {form}\n" for form in sorted(forms, key=lambda form: (-len(form), form)))
    return f'{HEADER}version: "3.1"\nnlu:\n- lookup: subject\n  examples: |\n{items}'


def main() -> int:
    expected = render()
    if "--check" in sys.argv:
        return 0 if LOOKUP.exists() and LOOKUP.read_text(encoding="utf-8") == expected else 1
    LOOKUP.write_text(expected, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
