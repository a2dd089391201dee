"""The English catalog translates every French message of the code and the templates."""

from __future__ import annotations

from pathlib import Path

from web.locale import catalog


def test_every_template_and_python_message_has_an_english_translation():
    missing = catalog.untranslated(catalog.extract(), catalog.read_catalog("en"))
    assert missing == [], "run `python -m web.locale.catalog`, then translate: " + "; ".join(
        missing[:20]
    )


def test_english_translations_keep_the_placeholders_and_compile():
    assert list(catalog.format_errors(catalog.read_catalog("en"))) == []


def test_the_check_finds_a_new_message_of_a_template_or_of_python(tmp_path: Path):
    (tmp_path / "babel.cfg").write_text(
        (catalog.ROOT / "babel.cfg").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (tmp_path / "web" / "templates").mkdir(parents=True)
    (tmp_path / "web" / "templates" / "page.html").write_text(
        '<p>{{ _("Accueil") }} {{ _("Une phrase que personne n\'a traduite") }}</p>'
    )
    (tmp_path / "web" / "page.py").write_text('N_("Carte")\ngettext("Un message du code")\n')
    template = catalog.extract(tmp_path)
    assert set(catalog.untranslated(template, catalog.read_catalog("en"))) == {
        "Une phrase que personne n'a traduite",
        "Un message du code",
    }
