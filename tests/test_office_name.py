"""bot.nlu.office_name: the office's long name is one word for the intent classifier."""
from __future__ import annotations

import pytest

from bot.nlu.office_name import collapse


@pytest.mark.parametrize("text,expected", [
    ("what are the priorities of the iom global office in brussels ?", "what are the priorities of office ?"),
    ("when was the brussels office established", "when was office established"),
    ("iom's brussels office partners", "office partners"),
    ("quelles sont les priorités du bureau de l ' oim à bruxelles ?", "quelles sont les priorités bureau ?"),
    ("le bureau mondial de l'oim", "bureau"),
    ("what does iom do", "what does iom do"),  # IOM alone is IOM, not the office
    ("office hours in brussels", "office hours in brussels"),
])
def test_every_form_of_the_name_is_one_word(text, expected):
    assert " ".join(collapse(text).split()) == expected
