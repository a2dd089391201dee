"""The batch writer's slugs: read around a batch's names, never the whole directory."""

from __future__ import annotations

import random

from sqlalchemy import select

from directory.batch import NewInitiative, Slugs, insert_initiatives
from directory.imports.report import IdRuns
from directory.initiatives import Author
from directory.models import Initiative
from directory.validation import clean_initiative

IMPORT = Author(None, "import:test")
# Names whose slugs collide: "Foo 2" is also the second "Foo", "Foo 3 2" the second "Foo 3".
NAMES = ["Foo", "Foo", "Foo", "Foo 2", "Foo 3", "Foo 4", "Foo 3 2", "Foo bar", "Bar"]


async def test_slugs_around_a_batch_are_those_of_the_whole_directory(session):
    rng = random.Random(5)
    # The second batch's "Foo" takes foo-3, so its "Foo 3" goes past foo-3-2, taken.
    batches = [["Foo", "Foo", "Foo 4", "Foo 3 2"], ["Foo", "Foo 3"]]
    batches += [[rng.choice(NAMES) for _ in range(rng.randint(1, 12))] for _ in range(8)]
    for names in batches:
        # Given what every slug of the directory would give,
        everything = Slugs(set(await session.scalars(select(Initiative.slug))))
        expected = [everything.new(name) for name in names]
        # when the slugs are read around the batch's names only,
        around = await Slugs.around(session, names)

        # then the batch gets the same slugs,
        assert [around.new(name) for name in names] == expected
        await insert_initiatives(
            session,
            [NewInitiative(clean_initiative({"name": n}, theme_slugs=[])) for n in names],
            author=IMPORT, action="import", message="", themes={},
            slugs=await Slugs.around(session, names),
        )  # fmt: skip
    # and what was read is about the batch, not the 50-odd slugs already taken.
    assert len((await Slugs.around(session, ["Bar"])).taken) < 12


def test_created_ids_are_kept_as_runs():
    ids = IdRuns()
    for start in range(1, 100_001, 500):  # an import's batches of consecutive ids
        ids.add(range(start, start + 500))
    ids.add([200_000, 7, 199_999])

    assert len(ids.starts) == 2
    assert [i in ids for i in (0, 1, 100_000, 100_001, 199_998, 199_999, 200_000)] == [
        False, True, True, False, False, True, True,
    ]  # fmt: skip
