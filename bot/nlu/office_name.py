"""The office's long name, read as one word by the intent classifiers.

"What are the priorities of the IOM Global Office in Brussels?": five of its nine words name the office, and
the examples that name it most are those of "what is the office?" (ask_office_role), so bag-of-words features
leaned to that intent: "quelles sont les priorités du bureau de l'OIM à Bruxelles ?" fell back (ask_priorities
0.40, ask_office_role 0.30) while "quelles sont les priorités du bureau de Bruxelles ?" was sure (0.79).
`collapse` rewrites every form of the name to "office" / "bureau" in the text the TF-IDF classifier reads, in
training and at run time alike; the visitor's text is unchanged.
"""
from __future__ import annotations

import re

_EN = re.compile(
    r"\b(?:the\s+)?(?:iom\s*(?:'\s*s)?\s+)?(?:global\s+)?office\s+(?:of\s+(?:the\s+)?iom\s+)?(?:in|at|of)\s+brussels\b|"
    r"\b(?:the\s+)?(?:iom\s*(?:'\s*s)?\s+)?(?:global\s+)?brussels\s+(?:global\s+)?office(?:\s+of\s+(?:the\s+)?iom)?\b|"
    r"\b(?:the\s+)?iom\s+global\s+office\b|\b(?:the\s+)?global\s+office\b|\biom\s+brussels\b", re.I)
_FR = re.compile(
    r"\b(?:le\s+|du\s+)?bureau\s+(?:mondial\s+)?(?:de\s+l\s*'\s*oim\s+)?(?:à|a|de)\s+bruxelles\b|"
    r"\b(?:le\s+|du\s+)?bureau\s+(?:mondial\s+)?de\s+l\s*'\s*oim\b|\b(?:le\s+|du\s+)?bureau\s+mondial\b|"
    r"\boim\s+bruxelles\b", re.I)


def collapse(text: str) -> str:
    """`text` with each form of the office's name replaced by "office" (English) or "bureau" (French)."""
    return _FR.sub(" bureau ", _EN.sub(" office ", text))
