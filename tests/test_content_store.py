"""Content store: schema, every error path, hot reload and coverage of the seed text."""
from __future__ import annotations

import logging
import re
import shutil
import time
from pathlib import Path

import pytest
import yaml

from bot.answers.content_store import (
    CONTENT_DIR,
    LANGUAGES,
    MAX_FOLLOWUPS,
    ContentError,
    ContentStore,
    load_content,
    normalise,
)

SHARED_SEED = CONTENT_DIR.parents[2] / "shared" / "seed" / "iom_brussels_about.txt"


@pytest.fixture
def content_dir(tmp_path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, target)
    return target


def edit(path: Path, mutate) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    mutate(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def entry(data, entry_id):
    return next(e for e in data["entries"] if e["id"] == entry_id)


def test_shipped_content_loads():
    content = load_content()
    assert len(content.entries) >= 30
    for e in content.entries.values():
        assert len(e.followups) <= MAX_FOLLOWUPS
        assert e.title and e.answer and e.source


def test_seed_copy_matches_shared_seed():
    if not SHARED_SEED.exists():
        pytest.skip("../shared is not beside this checkout")
    assert (CONTENT_DIR / "seed.txt").read_bytes() == SHARED_SEED.read_bytes()


# ------------------------------------------------------------------------------------------ seed coverage

def seed_statements():
    """Every sentence of every seed paragraph and list item (headings skipped)."""
    statements = []
    for line in (CONTENT_DIR / "seed.txt").read_text(encoding="utf-8").splitlines():
        line = normalise(line)
        is_item = line.startswith("- ")
        line = line[2:] if is_item else line
        if not line or line == "-":
            continue
        if not is_item and len(line.split()) <= 4 and not re.search(r"[.:;]$", line):
            continue  # a heading such as "Who We Are" or "Partnerships"
        statements.extend(s for s in re.split(r"(?<=[.;])\s+(?=[A-Z])", line) if s)
    return statements


def test_every_seed_statement_is_cited_by_an_entry():
    sources = [s for e in load_content().entries.values() for s in e.source]
    uncited = []
    for statement in seed_statements():
        # A heading glued to its paragraph ("WHO WE AREThe International ...") is cited by the paragraph.
        cited = any(statement in s or (s in statement and len(s) >= 0.8 * len(statement)) for s in sources)
        if not cited:
            uncited.append(statement)
    assert not uncited, f"seed statements no entry cites: {uncited}"
    assert len(seed_statements()) >= 30


def test_website_sections_named_in_seed_are_cited():
    sources = {s for e in load_content().entries.values() for s in e.source}
    for section in ["Where We Work", "Take Action", "Data and Resources", "2030 Agenda"]:
        assert section in sources


def test_every_source_is_verbatim_in_seed():
    seed = normalise((CONTENT_DIR / "seed.txt").read_text(encoding="utf-8"))
    for e in load_content().entries.values():
        for s in e.source:
            assert s in seed, (e.id, s)


def test_source_not_in_seed_is_rejected(content_dir):
    edit(content_dir / "office.yml", lambda d: entry(d, "office_established")["source"].append(
        "The office was established in 1999."))
    with pytest.raises(ContentError, match=r"office\.yml, entry 'office_established', field 'source'"):
        load_content(content_dir)


# ------------------------------------------------------------------------------------------ error paths

@pytest.mark.parametrize("field_name", ["answer", "title", "source"])
def test_missing_required_field_names_file_entry_and_field(content_dir, field_name):
    edit(content_dir / "iom.yml", lambda d: entry(d, "iom_about").pop(field_name))
    with pytest.raises(ContentError) as err:
        load_content(content_dir)
    assert (err.value.file, err.value.entry, err.value.field) == ("iom.yml", "iom_about", field_name)


def test_missing_id(content_dir):
    edit(content_dir / "iom.yml", lambda d: d["entries"][1].pop("id"))
    with pytest.raises(ContentError, match=r"iom\.yml, entry '#2', field 'id'"):
        load_content(content_dir)


def test_duplicate_id(content_dir):
    edit(content_dir / "iom.yml", lambda d: entry(d, "iom_work").update(id="office_role", intent="ask_x"))
    with pytest.raises(ContentError,
                       match=r"office\.yml, entry 'office_role', field 'id': duplicate id \(also in iom\.yml\)"):
        load_content(content_dir)


def test_unknown_followup(content_dir):
    edit(content_dir / "iom.yml", lambda d: entry(d, "iom_about")["followups"].append("no_such_entry"))
    with pytest.raises(ContentError, match=r"entry 'iom_about', field 'followups': refers to unknown entry"):
        load_content(content_dir)


def test_too_many_followups(content_dir):
    ids = ["office_role", "office_aim", "office_support", "iom_work", "partners_overview", "prio_avrr"]
    edit(content_dir / "iom.yml", lambda d: entry(d, "iom_about").update(followups=ids))
    with pytest.raises(ContentError, match=r"field 'followups': at most 5"):
        load_content(content_dir)


def test_duplicate_intent_and_subject(content_dir):
    edit(content_dir / "iom.yml", lambda d: entry(d, "iom_work").update(intent="ask_iom"))
    with pytest.raises(ContentError, match=r"entry 'iom_work', field 'intent'.*already answered by 'iom_about'"):
        load_content(content_dir)


def test_unknown_field(content_dir):
    edit(content_dir / "iom.yml", lambda d: entry(d, "iom_about").update(anwser="typo"))
    with pytest.raises(ContentError, match=r"entry 'iom_about': unknown field"):
        load_content(content_dir)


def test_malformed_yaml_names_line(content_dir):
    (content_dir / "partners.yml").write_text("entries:\n  - id: x\n    answer: [unclosed\n", encoding="utf-8")
    with pytest.raises(ContentError, match=r"partners\.yml: malformed YAML at line \d+"):
        load_content(content_dir)


def test_not_utf8(content_dir):
    (content_dir / "partners.yml").write_bytes("entries: []\n# caf\u00e9".encode("latin-1"))
    with pytest.raises(ContentError, match=r"partners\.yml: not valid UTF-8"):
        load_content(content_dir)


def test_missing_message_and_placeholder(content_dir):
    edit(content_dir / "messages.yml", lambda d: d["messages"].pop("greet"))
    with pytest.raises(ContentError, match=r"messages\.yml, entry 'messages\.greet', field 'greet'"):
        load_content(content_dir)
    shutil.copy(CONTENT_DIR / "messages.yml", content_dir / "messages.yml")
    edit(content_dir / "messages.yml", lambda d: d["messages"].update(no_more={"en": "Nothing more.",
                                                                               "fr": "Rien de plus."}))
    with pytest.raises(ContentError, match=r"messages\.no_more'.*placeholder"):
        load_content(content_dir)


def test_menu_must_reference_entries(content_dir):
    edit(content_dir / "messages.yml", lambda d: d["menu"].append("ghost"))
    with pytest.raises(ContentError, match=r"messages\.yml, entry 'menu'.*'ghost'"):
        load_content(content_dir)


# ------------------------------------------------------------------------------------------ translations

def test_every_text_exists_in_english_and_french():
    content = load_content()
    for e in content.entries.values():
        for localized in (e.title, e.answer, e.more or {"en": "x", "fr": "x"}):
            assert set(localized) == set(LANGUAGES), e.id
    for key, localized in content.messages.items():
        assert set(localized) == set(LANGUAGES), key


def set_french(field_name, text):
    return lambda d: entry(d, "office_established")[field_name].update(fr=text)


@pytest.mark.parametrize("mutate,problem", [
    (lambda d: entry(d, "office_established")["answer"].pop("fr"), "the translation is missing: fr"),
    (lambda d: entry(d, "office_established").update(answer="only English"), "must give the text in each language"),
    (set_french("answer", "La liaison de l’OIM avec l’UE a été établie en **septembre 2012**."), "other numbers"),
    (set_french("answer", "La liaison avec l’UE a été établie en **septembre 2011**."), "leaves out 'IOM'"),
    (set_french("answer", "La liaison de l’OIM avec l’UE a été établie en septembre 2011."), "bold phrases"),
    (lambda d: entry(d, "office_established")["answer"].update(de="Deutsch"), "unknown language"),
])
def test_a_missing_or_unfaithful_translation_is_refused(content_dir, mutate, problem):
    edit(content_dir / "office.yml", mutate)
    with pytest.raises(ContentError, match=rf"office\.yml, entry 'office_established', field 'answer'.*{problem}"):
        load_content(content_dir)


def test_a_list_must_name_as_many_items_as_it_shows(content_dir):
    edit(content_dir / "partners.yml", lambda d: entry(d, "partners_overview")["items"].pop())
    with pytest.raises(ContentError, match=r"entry 'partners_overview', field 'items': names 7 items but the answer "
                                           r"lists 8"):
        load_content(content_dir)


@pytest.mark.parametrize("file,entry_id,field_name,value,problem", [
    ("partners.yml", "partners_overview", "item_words", "partners(", "not a valid regular expression"),
    ("partners.yml", "partner_ngos", "item_words", "ngos?", "only an entry with items can name them"),
    ("partners.yml", "partner_ngos", "countable", True, "true only with items"),
    ("office.yml", "office_aim", "defers_to_subject", "yes", "must be true or false"),
])
def test_list_and_subject_fields_are_checked(content_dir, file, entry_id, field_name, value, problem):
    edit(content_dir / file, lambda d: entry(d, entry_id).__setitem__(field_name, value))
    with pytest.raises(ContentError, match=rf"entry '{entry_id}', field '{field_name}': .*{problem}"):
        load_content(content_dir)


def test_the_language_of_a_text_the_content_sends():
    content = load_content()
    entry_ = content.entries["office_established"]
    assert content.language_of(entry_.answer["fr"]) == "fr" and content.language_of(entry_.answer["en"]) == "en"
    assert content.language_of(content.message("no_more", "fr", title="X")) == "fr"
    assert content.language_of("something else") is None


# ------------------------------------------------------------------------------------------ hot reload

def test_hot_reload_applies_valid_edit_and_keeps_last_good_on_invalid(content_dir, caplog):
    store = ContentStore(content_dir, check_interval=0)
    assert "September 2011" in store.get().entries["office_established"].answer["en"]

    edit(content_dir / "office.yml", lambda d: entry(d, "office_established").update(
        answer={"en": "Edited: IOM’s liaison with the EU was established in September 2011.",
                "fr": "Modifié : la liaison de l’OIM avec l’UE a été établie en septembre 2011."}))
    assert store.get().entries["office_established"].answer["en"].startswith("Edited:")

    time.sleep(0.01)
    (content_dir / "office.yml").write_text("entries: [broken", encoding="utf-8")
    with caplog.at_level(logging.ERROR, logger="bot.content_store"):
        content = store.get()
    assert content.entries["office_established"].answer["en"].startswith("Edited:")
    assert "rejected edit" in caplog.text and "office.yml" in caplog.text
