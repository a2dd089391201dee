"""The open-data page lists every export, keeps the page's filters and names the licence."""

from __future__ import annotations


async def test_open_data_lists_every_export_with_the_licence(client, settings):
    response = await client.get("/donnees")

    assert response.status_code == 200
    for path in (
        "/exports/initiatives.csv",
        "/exports/initiatives.geojson",
        "/exports/initiatives.jsonld",
        "/exports/gogocarto.json",
    ):
        assert f'href="{path}"' in response.text
    assert settings.licence_url in response.text


async def test_open_data_links_carry_the_filters_and_answer(client):
    response = await client.get("/donnees?theme=alimentation&commune=44109")

    assert 'href="/exports/initiatives.csv?theme=alimentation&amp;commune=44109"' in response.text
    download = await client.get("/exports/initiatives.csv?theme=alimentation&commune=44109")
    assert download.status_code == 200


async def test_open_data_refuses_a_bad_filter(client):
    response = await client.get("/donnees?status=eternal", headers={"accept": "text/html"})
    assert response.status_code == 422


async def test_open_data_speaks_english(client):
    response = await client.get("/donnees?lang=en")
    assert "Every published initiative of this directory" in response.text
