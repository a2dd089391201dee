"""The shared vocabulary: core themes, actor kinds, needs, statuses.

Core themes have host-independent IRIs so that every Maillage instance agrees on what
"alimentation" means; instances add local sub-themes mapped onto one of them.
"""

from __future__ import annotations

from dataclasses import dataclass

THEME_IRI_PREFIX = "urn:maillage:theme:"


@dataclass(frozen=True)
class Term:
    slug: str
    label_fr: str
    label_en: str

    def label(self, lang: str = "fr") -> str:
        return self.label_en if lang == "en" else self.label_fr


@dataclass(frozen=True)
class CoreTheme(Term):
    hashtag: str = ""

    @property
    def iri(self) -> str:
        return THEME_IRI_PREFIX + self.slug


CORE_THEMES: tuple[CoreTheme, ...] = (
    CoreTheme("alimentation", "Alimentation", "Food", "AlimentationLocale"),
    CoreTheme("climat-energie", "Climat et énergie", "Climate and energy", "ClimatEnergie"),
    CoreTheme(
        "reemploi-reparation", "Réemploi et réparation", "Reuse and repair", "ReparationLocale"
    ),
    CoreTheme(
        "culture-bibliotheques",
        "Culture et bibliothèques",
        "Culture and libraries",
        "CultureBibliotheques",
    ),
    CoreTheme(
        "fablabs-numerique", "Fablabs et numérique", "Fablabs and digital", "FablabsNumerique"
    ),
    CoreTheme(
        "solidarite-entraide", "Solidarité et entraide", "Solidarity and mutual aid", "Entraide"
    ),
    CoreTheme("sante", "Santé", "Health", "SanteLocale"),
    CoreTheme(
        "education-jeunesse", "Éducation et jeunesse", "Education and youth", "EducationJeunesse"
    ),
    CoreTheme("mobilite", "Mobilité", "Mobility", "MobiliteDouce"),
    CoreTheme("habitat", "Habitat", "Housing", "HabitatPartage"),
    CoreTheme(
        "economie-locale-ess",
        "Économie locale et ESS",
        "Local economy and social economy",
        "EconomieLocale",
    ),
    CoreTheme(
        "participation-citoyenne",
        "Participation citoyenne",
        "Citizen participation",
        "ParticipationCitoyenne",
    ),
    CoreTheme(
        "biodiversite-nature", "Biodiversité et nature", "Biodiversity and nature", "Biodiversite"
    ),
    CoreTheme("tiers-lieux", "Tiers-lieux", "Third places", "TiersLieux"),
)

ACTOR_KINDS: tuple[Term, ...] = (
    Term("association", "Association", "Non-profit association"),
    Term("collectivite", "Collectivité", "Local authority"),
    Term("entreprise-ess", "Entreprise / ESS", "Business / social economy"),
    Term("etablissement-public", "Établissement public", "Public body"),
    Term("collectif-habitants", "Collectif d'habitants ou d'usagers", "Residents' or users' group"),
)

NEEDS: tuple[Term, ...] = (
    Term("isolement", "Isolement", "Isolation"),
    Term("precarite-alimentaire", "Précarité alimentaire", "Food insecurity"),
    Term("fracture-numerique", "Fracture numérique", "Digital divide"),
    Term("climat", "Adaptation au climat", "Climate adaptation"),
    Term("mobilite", "Mobilité", "Mobility"),
    Term("logement", "Logement", "Housing"),
    Term("sante", "Accès aux soins", "Access to healthcare"),
    Term("precarite-energetique", "Précarité énergétique", "Energy poverty"),
    Term("acces-culture", "Accès à la culture", "Access to culture"),
    Term("insertion-emploi", "Insertion et emploi", "Work integration"),
)

STATUSES: tuple[Term, ...] = (
    Term("active", "Active", "Active"),
    Term("paused", "En pause", "Paused"),
    Term("ended", "Terminée", "Ended"),
)

MODERATION_STATES: tuple[Term, ...] = (
    Term("proposed", "Proposée", "Proposed"),
    Term("published", "Publiée", "Published"),
    Term("rejected", "Refusée", "Rejected"),
    Term("withdrawn", "Retirée", "Withdrawn"),
)

RELATION_KINDS: tuple[Term, ...] = (
    Term("similar", "Similaire", "Similar"),
    Term("partner", "Partenaire", "Partner"),
    Term("inspired-by", "Inspirée de", "Inspired by"),
    Term("same-network", "Même réseau", "Same network"),
)

ROLES: tuple[Term, ...] = (
    Term("admin", "Administrateur·ice", "Administrator"),
    Term("moderator", "Modérateur·ice", "Moderator"),
    Term("referent", "Messager·e référent·e", "Referent"),
    Term("contributor", "Contributeur·ice", "Contributor"),
)

TERRITORY_KINDS: tuple[Term, ...] = (
    Term("commune", "Commune", "Municipality"),
    Term("epci", "Intercommunalité", "Inter-municipal body"),
    Term("departement", "Département", "Département"),
    Term("region", "Région", "Region"),
    Term("national", "Réseau national", "National network"),
    Term("other", "Autre territoire", "Other territory"),
)


def slugs(terms: tuple[Term, ...]) -> frozenset[str]:
    return frozenset(t.slug for t in terms)


def by_slug(terms: tuple[Term, ...]) -> dict[str, Term]:
    return {t.slug: t for t in terms}


CORE_THEME_SLUGS = slugs(CORE_THEMES)
ACTOR_KIND_SLUGS = slugs(ACTOR_KINDS)
NEED_SLUGS = slugs(NEEDS)
STATUS_SLUGS = slugs(STATUSES)
MODERATION_STATE_SLUGS = slugs(MODERATION_STATES)
RELATION_KIND_SLUGS = slugs(RELATION_KINDS)
ROLE_SLUGS = slugs(ROLES)
TERRITORY_KIND_SLUGS = slugs(TERRITORY_KINDS)

# Who may do what: each role includes the powers of the roles after it.
ROLE_RANK = {"admin": 3, "moderator": 2, "referent": 1, "contributor": 0}


def role_at_least(role: str | None, needed: str) -> bool:
    return role is not None and ROLE_RANK.get(role, -1) >= ROLE_RANK[needed]
