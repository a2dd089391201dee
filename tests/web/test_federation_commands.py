"""`maillage trust|block|unblock|blocks|inbox|following|followers` against a real database."""

from __future__ import annotations

import pytest

from web.cli import main


@pytest.fixture
def cli(database_url, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MAILLAGE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MAILLAGE_SECRET_KEY", "test")

    def run(*argv: str) -> tuple[int, str, str]:
        code = main([*argv, "--database-url", database_url])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_trust_block_and_unblock(cli):
    code, out, _ = cli("trust", "Region.Example", "hold")
    assert code == 0 and out.strip() == "region.example : hold"
    code, out, _ = cli("trust")
    assert "region.example\thold" in out
    code, out, _ = cli("block", "spam.example", "--reason", "pourriel")
    assert code == 0 and "spam.example bloqué" in out
    code, out, _ = cli("blocks")
    assert "spam.example\tpourriel" in out
    assert cli("unblock", "spam.example")[0] == 0
    code, _, err = cli("unblock", "spam.example")
    assert code == 1 and "n'est pas bloqué" in err
    code, out, _ = cli("blocks")
    assert "spam.example" not in out


def test_listings_run_on_an_empty_instance(cli):
    for command in ("following", "followers", "inbox"):
        code, _, _ = cli(command)
        assert code == 0
    with pytest.raises(SystemExit) as refused:
        cli("trust", "region.example", "maybe")
    assert refused.value.code == 2  # argparse names the allowed policies
