"""What the demo's invented initiatives are made of: one family of initiatives per line.

Each family belongs to a core theme and gives name patterns, a summary, an opening
paragraph, the needs it usually addresses and the actors who usually run it. Patterns use
{commune}, {lieu} and {nom}. Everything here is invented: no real organisation, person,
address or contact.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    theme: str
    names: tuple[str, ...]
    summary: str
    intro: str
    needs: tuple[str, ...]
    actors: tuple[str, ...]
    also: tuple[str, ...] = ()  # other themes it often touches
    hours: tuple[str, ...] = ("Mo-Fr 09:00-12:00,14:00-17:00",)


FAMILIES: tuple[Family, ...] = (
    # --- alimentation
    Family(
        "alimentation",
        ("AMAP {nom}", "AMAP de {commune}", "AMAP du {lieu} de {commune}"),
        "Paniers de légumes bio d'un maraîcher voisin, chaque semaine",
        "Une association pour le maintien d'une agriculture paysanne : les adhérents "
        "s'engagent pour la saison auprès d'un maraîcher et d'un éleveur installés à "
        "quelques kilomètres de {commune}, et récupèrent leur panier chaque semaine.",
        ("precarite-alimentaire", "climat"),
        ("association", "collectif-habitants"),
        ("economie-locale-ess",),
        ("Th 18:00-19:30",),
    ),
    Family(
        "alimentation",
        ("Épicerie solidaire {nom}", "Épicerie solidaire de {commune}"),
        "Des produits du quotidien à petit prix, sur orientation sociale",
        "L'épicerie solidaire de {commune} propose des produits alimentaires et d'hygiène "
        "à 10 à 30 % de leur prix, pour des foyers orientés par le CCAS ou les travailleurs "
        "sociaux, le temps d'un projet (payer une facture, passer le permis, souffler).",
        ("precarite-alimentaire", "isolement"),
        ("association", "collectivite"),
        ("solidarite-entraide",),
        ("Tu,Fr 14:00-18:00", "We 09:30-12:30; Fr 14:00-17:30"),
    ),
    Family(
        "alimentation",
        ("Banque alimentaire – antenne de {commune}", "Distribution alimentaire de {commune}"),
        "Colis alimentaires et accueil chaleureux, chaque semaine",
        "Des bénévoles trient les dons collectés dans les supermarchés de {commune} et "
        "distribuent des colis aux familles inscrites ; un café est offert pendant "
        "l'attente, pour se parler et repérer les autres besoins.",
        ("precarite-alimentaire",),
        ("association",),
        ("solidarite-entraide",),
        ("We 14:00-17:00", "Tu 09:00-12:00"),
    ),
    Family(
        "alimentation",
        ("Jardin partagé {nom}", "Jardin partagé du {lieu}", "Les jardins familiaux de {commune}"),
        "Des parcelles cultivées ensemble et un composteur collectif",
        "Sur un terrain mis à disposition par la commune, des habitants de {commune} "
        "cultivent des parcelles individuelles et une parcelle commune dont les récoltes "
        "sont partagées. Ateliers de semis, troc de graines et compost collectif.",
        ("precarite-alimentaire", "isolement", "climat"),
        ("collectif-habitants", "collectivite", "association"),
        ("biodiversite-nature",),
        ("Sa 10:00-12:00", "We 17:00-19:00; Sa 10:00-12:00"),
    ),
    Family(
        "alimentation",
        ("Cantine solidaire {nom}", "La table partagée de {commune}"),
        "Un repas chaud à prix libre, cuisiné par des bénévoles",
        "Deux midis par semaine, une équipe de bénévoles cuisine les invendus des "
        "commerces de {commune} et sert un repas complet à prix libre. On peut aussi "
        "venir éplucher, cuisiner, faire la vaisselle.",
        ("precarite-alimentaire", "isolement"),
        ("association", "collectif-habitants"),
        ("solidarite-entraide",),
        ("Tu,Th 12:00-14:00",),
    ),
    # --- climat et énergie
    Family(
        "climat-energie",
        ("Énergie citoyenne {nom}", "Centrale solaire citoyenne de {commune}"),
        "Des habitants investissent dans des panneaux solaires sur les toits publics",
        "Une société coopérative réunit habitants, commune et entreprises locales de "
        "{commune} pour installer des panneaux photovoltaïques sur les écoles et les "
        "salles de sport, et réinvestir les bénéfices dans la sobriété énergétique.",
        ("climat", "precarite-energetique"),
        ("entreprise-ess", "collectivite", "collectif-habitants"),
        ("economie-locale-ess",),
        ("Mo 18:00-20:00",),
    ),
    Family(
        "climat-energie",
        ("Défi Familles à énergie positive – {commune}", "Les économes de {commune}"),
        "Réduire ses factures d'énergie en équipe, de décembre à avril",
        "Des équipes de foyers de {commune} relèvent le défi de réduire leur consommation "
        "d'énergie et d'eau d'au moins 8 %, avec des soirées d'astuces, des prêts de "
        "wattmètres et l'accompagnement d'un conseiller.",
        ("precarite-energetique", "climat"),
        ("collectivite", "association"),
        (),
        ("Th 18:30-20:30",),
    ),
    Family(
        "climat-energie",
        ("Espace conseil rénovation de {commune}", "Permanence rénovation énergétique {nom}"),
        "Conseils gratuits et neutres pour rénover son logement",
        "Un conseiller reçoit sur rendez-vous les propriétaires et locataires de {commune} "
        "pour les aider à choisir leurs travaux d'isolation et de chauffage, et à monter "
        "les dossiers d'aides.",
        ("precarite-energetique", "logement"),
        ("etablissement-public", "collectivite"),
        ("habitat",),
        ("Tu 09:00-12:00; Th 14:00-17:00",),
    ),
    Family(
        "climat-energie",
        ("Fresque du climat {nom}", "Collectif climat de {commune}"),
        "Ateliers pour comprendre le changement climatique et agir localement",
        "Des animateurs bénévoles proposent des ateliers de trois heures pour comprendre "
        "les causes et les conséquences du changement climatique, puis des soirées pour "
        "passer à l'action à {commune}.",
        ("climat",),
        ("association", "collectif-habitants"),
        ("participation-citoyenne", "education-jeunesse"),
        ("Sa[1] 14:00-17:00",),
    ),
    # --- réemploi et réparation
    Family(
        "reemploi-reparation",
        ("Repair café {nom}", "Repair café de {commune}", "Repair café du {lieu}"),
        "On répare ensemble petit électroménager, vêtements et vélos",
        "Une fois par mois, des bénévoles bricoleurs accueillent les habitants de "
        "{commune} avec leurs objets en panne : grille-pain, lampes, vêtements, jouets, "
        "ordinateurs. On répare ensemble, on apprend, et on prend un café.",
        ("precarite-energetique", "isolement", "climat"),
        ("association", "collectif-habitants"),
        ("economie-locale-ess",),
        ("Sa[1] 14:00-18:00", "Sa[3] 09:30-12:30"),
    ),
    Family(
        "reemploi-reparation",
        ("Ressourcerie {nom}", "Ressourcerie de {commune}", "Recyclerie {nom}"),
        "Collecte, remise en état et revente d'objets à petit prix",
        "La ressourcerie collecte meubles, vaisselle, livres et textiles à {commune}, les "
        "remet en état dans ses ateliers et les revend à petit prix ; elle emploie des "
        "salariés en parcours d'insertion.",
        ("insertion-emploi", "climat", "precarite-alimentaire"),
        ("entreprise-ess", "association"),
        ("economie-locale-ess",),
        ("We,Sa 10:00-18:00", "Tu-Sa 14:00-18:00"),
    ),
    Family(
        "reemploi-reparation",
        ("Atelier vélo participatif {nom}", "L'atelier vélo de {commune}"),
        "Réparer son vélo soi-même, avec des outils et des conseils",
        "Un atelier où l'on apprend à entretenir et réparer son vélo, avec des outils, "
        "des pièces de réemploi et des bénévoles. Des vélos remis en état sont vendus à "
        "petit prix aux habitants de {commune}.",
        ("mobilite", "climat"),
        ("association",),
        ("mobilite",),
        ("We 16:00-19:00; Sa 10:00-13:00",),
    ),
    Family(
        "reemploi-reparation",
        ("Couturothèque {nom}", "Atelier couture et retouches de {commune}"),
        "Machines à coudre en libre accès et ateliers de retouche",
        "Des machines à coudre, des surjeteuses et des tissus de récupération sont en "
        "libre accès ; des couturières bénévoles de {commune} aident aux retouches et "
        "proposent des ateliers de raccommodage.",
        ("isolement", "climat"),
        ("association", "collectif-habitants"),
        ("tiers-lieux",),
        ("Tu 14:00-17:00; Sa 10:00-12:00",),
    ),
    # --- culture et bibliothèques
    Family(
        "culture-bibliotheques",
        ("Grainothèque de la médiathèque de {commune}", "Boîtes à livres de {commune}"),
        "Graines et livres à échanger librement",
        "La médiathèque de {commune} accueille une grainothèque et entretient des boîtes "
        "à livres dans les quartiers : on dépose, on emprunte, on échange des conseils.",
        ("acces-culture", "isolement"),
        ("collectivite", "etablissement-public"),
        ("biodiversite-nature",),
        ("Tu,Fr 15:00-18:30; We,Sa 10:00-12:30,14:00-18:00",),
    ),
    Family(
        "culture-bibliotheques",
        ("Ciné-club {nom}", "Les toiles de {commune}"),
        "Un film par mois suivi d'un débat, dans la salle des fêtes",
        "Une équipe de bénévoles programme un film par mois à {commune}, en partenariat "
        "avec le cinéma associatif voisin, suivi d'une discussion et d'un verre.",
        ("acces-culture", "isolement"),
        ("association",),
        ("participation-citoyenne",),
        ("Fr[2] 20:30-23:00",),
    ),
    Family(
        "culture-bibliotheques",
        ("Lectures à domicile {nom}", "Portage de livres de {commune}"),
        "Des bénévoles apportent des livres aux personnes qui ne peuvent plus se déplacer",
        "La bibliothèque de {commune} et des bénévoles portent des livres, des livres "
        "audio et des revues au domicile des personnes âgées ou malades, et restent "
        "parfois pour lire à voix haute.",
        ("isolement", "acces-culture"),
        ("collectivite", "association"),
        ("solidarite-entraide",),
        ("Mo-Fr 10:00-12:00",),
    ),
    # --- fablabs et numérique
    Family(
        "fablabs-numerique",
        ("Fablab de la médiathèque de {commune}", "Fablab {nom}"),
        "Imprimantes 3D, découpe laser et ateliers de fabrication ouverts à tous",
        "Installé dans la médiathèque de {commune}, le fablab met à disposition "
        "imprimantes 3D, découpeuse laser, brodeuse numérique et outils, avec des "
        "ateliers d'initiation pour les enfants et les adultes.",
        ("fracture-numerique", "acces-culture"),
        ("collectivite", "association"),
        ("culture-bibliotheques", "education-jeunesse"),
        ("We 14:00-18:00; Sa 10:00-17:00",),
    ),
    Family(
        "fablabs-numerique",
        ("Permanence numérique de {commune}", "Point d'accès numérique {nom}"),
        "Aide aux démarches en ligne, sans rendez-vous",
        "Un conseiller numérique aide les habitants de {commune} à faire leurs démarches "
        "en ligne (impôts, CAF, santé, retraite), à créer une adresse e-mail et à se "
        "servir d'un smartphone ; des ordinateurs sont en libre accès.",
        ("fracture-numerique", "isolement"),
        ("collectivite", "etablissement-public"),
        ("solidarite-entraide",),
        ("Mo,Th 09:00-12:00", "Tu 14:00-17:00; Fr 09:00-12:00"),
    ),
    Family(
        "fablabs-numerique",
        ("Ordinateurs solidaires {nom}", "Atelier de reconditionnement informatique de {commune}"),
        "Des ordinateurs reconditionnés sous logiciels libres pour les foyers modestes",
        "Des bénévoles et des salariés en insertion reconditionnent les ordinateurs "
        "donnés par les entreprises de {commune}, y installent des logiciels libres et "
        "les confient à petit prix à des familles, avec une formation.",
        ("fracture-numerique", "insertion-emploi"),
        ("association", "entreprise-ess"),
        ("reemploi-reparation",),
        ("Tu,Th 14:00-18:00",),
    ),
    # --- solidarité et entraide
    Family(
        "solidarite-entraide",
        ("Accorderie de {commune}", "Réseau d'échanges de savoirs {nom}"),
        "Échanger des services et des savoirs : une heure vaut une heure",
        "Les membres de l'accorderie de {commune} échangent des services (bricolage, "
        "cours de langue, garde d'animaux, covoiturage) ; chaque heure donnée vaut une "
        "heure reçue, quel que soit le service.",
        ("isolement", "precarite-alimentaire"),
        ("association", "collectif-habitants"),
        ("economie-locale-ess",),
        ("Mo,Th 14:00-18:00",),
    ),
    Family(
        "solidarite-entraide",
        ("Visites de convivialité {nom}", "Voisins solidaires de {commune}"),
        "Des bénévoles rendent visite aux personnes âgées isolées",
        "Des équipes de bénévoles de {commune} rendent visite chaque semaine à des "
        "personnes âgées qui vivent seules, les appellent pendant les canicules et "
        "organisent des sorties.",
        ("isolement", "sante"),
        ("association", "collectivite"),
        ("sante",),
        ("Mo-Fr 09:00-17:00",),
    ),
    Family(
        "solidarite-entraide",
        ("Café des parents {nom}", "Maison des familles de {commune}"),
        "Un lieu pour souffler, échanger entre parents et trouver de l'aide",
        "Un lieu d'accueil sans inscription où les parents de {commune} se retrouvent, "
        "avec leurs jeunes enfants ou non, pour parler, partager leurs questions et "
        "rencontrer des professionnels.",
        ("isolement",),
        ("association", "collectivite"),
        ("education-jeunesse",),
        ("Tu 09:30-11:30; Sa 10:00-12:00",),
    ),
    # --- santé
    Family(
        "sante",
        ("Maison de santé pluriprofessionnelle de {commune}", "Pôle santé {nom}"),
        "Médecins, infirmiers et kinésithérapeutes réunis dans un même lieu",
        "Une équipe de médecins généralistes, infirmiers, kinésithérapeutes et "
        "diététicienne s'est regroupée à {commune} pour assurer des soins coordonnés et "
        "des actions de prévention.",
        ("sante",),
        ("collectivite", "etablissement-public"),
        (),
        ("Mo-Fr 08:00-19:30; Sa 08:30-12:00",),
    ),
    Family(
        "sante",
        ("Café des aidants de {commune}", "Répit des aidants {nom}"),
        "Échanger entre proches aidants, avec une psychologue",
        "Une fois par mois, les personnes qui accompagnent un proche malade, âgé ou en "
        "situation de handicap se retrouvent dans un café de {commune}, avec une "
        "psychologue, pour échanger et souffler.",
        ("sante", "isolement"),
        ("association", "etablissement-public"),
        ("solidarite-entraide",),
        ("Sa[2] 10:00-12:00",),
    ),
    Family(
        "sante",
        ("Marche santé {nom}", "Sport santé à {commune}"),
        "Activité physique adaptée, en groupe et près de chez soi",
        "Des éducateurs sportifs proposent à {commune} des séances de marche nordique et "
        "de gym douce adaptées aux personnes atteintes de maladies chroniques ou qui "
        "reprennent une activité.",
        ("sante", "isolement"),
        ("association", "collectivite"),
        ("biodiversite-nature",),
        ("Tu,Th 10:00-11:30",),
    ),
    # --- éducation et jeunesse
    Family(
        "education-jeunesse",
        ("Aide aux devoirs {nom}", "Accompagnement scolaire du {lieu}"),
        "Des bénévoles aident les écoliers et collégiens après la classe",
        "Après l'école, des bénévoles accompagnent les enfants de {commune} dans leurs "
        "devoirs, et proposent jeux de société et sorties culturelles ; les parents sont "
        "associés.",
        ("acces-culture", "isolement"),
        ("association", "collectivite"),
        (),
        ("Mo,Tu,Th 16:30-18:30",),
    ),
    Family(
        "education-jeunesse",
        ("Espace jeunes de {commune}", "Foyer des jeunes {nom}"),
        "Un lieu pour les 11-17 ans : projets, sorties, écoute",
        "Des animateurs accueillent les adolescents de {commune} pour monter leurs "
        "projets (séjours, concerts, chantiers), les orienter et les écouter.",
        ("isolement", "insertion-emploi"),
        ("collectivite", "association"),
        ("participation-citoyenne",),
        ("We 13:30-18:30; Fr 17:00-19:00; Sa 14:00-18:00",),
    ),
    Family(
        "education-jeunesse",
        ("Ludothèque {nom}", "Ludothèque de {commune}"),
        "Jouer sur place et emprunter des jeux, à tout âge",
        "La ludothèque de {commune} prête des jeux de société et des jouets, et accueille "
        "familles, assistantes maternelles et résidents de l'EHPAD pour jouer ensemble.",
        ("isolement", "acces-culture"),
        ("association", "collectivite"),
        ("culture-bibliotheques",),
        ("We 10:00-12:00,14:00-18:00; Sa 10:00-12:30",),
    ),
    # --- mobilité
    Family(
        "mobilite",
        ("Vélo-école {nom}", "Vélo-école de {commune}"),
        "Apprendre ou réapprendre à faire du vélo, à tout âge",
        "Des moniteurs bénévoles apprennent aux adultes de {commune} à faire du vélo, "
        "puis à circuler en ville en sécurité ; des vélos sont prêtés pendant la "
        "formation.",
        ("mobilite", "insertion-emploi"),
        ("association",),
        ("education-jeunesse",),
        ("Sa 09:30-11:30",),
    ),
    Family(
        "mobilite",
        ("Transport solidaire {nom}", "Transport solidaire de {commune}"),
        "Des chauffeurs bénévoles conduisent ceux qui n'ont pas de solution",
        "Des chauffeurs bénévoles conduisent les habitants de {commune} sans voiture ni "
        "transport en commun à leurs rendez-vous médicaux, administratifs ou à leurs "
        "courses, contre une participation aux frais.",
        ("mobilite", "isolement", "sante"),
        ("association", "collectivite"),
        ("solidarite-entraide",),
        ("Mo-Fr 09:00-12:00",),
    ),
    Family(
        "mobilite",
        ("Autopartage {nom}", "Voitures partagées de {commune}"),
        "Des voitures en libre-service, réservées en ligne, à l'heure",
        "Une coopérative met des voitures en libre-service à la disposition des habitants "
        "de {commune}, réservées à l'heure, pour se passer d'une deuxième voiture.",
        ("mobilite", "climat"),
        ("entreprise-ess", "collectivite"),
        ("climat-energie",),
        ("24/7",),
    ),
    # --- habitat
    Family(
        "habitat",
        ("Habitat participatif {nom}", "Les voisins du {lieu}"),
        "Des logements conçus et gérés ensemble, avec des espaces partagés",
        "Une douzaine de foyers de {commune} ont conçu ensemble leur immeuble : logements "
        "privatifs, buanderie, salle commune, chambre d'amis et jardin partagés.",
        ("logement", "isolement"),
        ("collectif-habitants", "entreprise-ess"),
        (),
        ("Sa[1] 10:00-12:00",),
    ),
    Family(
        "habitat",
        ("Cohabitation intergénérationnelle {nom}", "Un toit, deux générations – {commune}"),
        "Une chambre chez un senior contre présence et petits services",
        "L'association met en relation des personnes âgées de {commune} qui ont une "
        "chambre libre et des jeunes (étudiants, apprentis) qui cherchent un logement, "
        "avec une convention et un suivi.",
        ("logement", "isolement"),
        ("association",),
        ("solidarite-entraide",),
        ("Mo-Th 09:00-12:30",),
    ),
    Family(
        "habitat",
        ("Auto-réhabilitation accompagnée {nom}", "Les Compagnons bâtisseurs de {commune}"),
        "Aide à rénover soi-même son logement, avec un animateur technique",
        "Des animateurs techniques et des bénévoles aident les ménages modestes de "
        "{commune} à rénover leur logement eux-mêmes : peinture, isolation, électricité, "
        "avec un prêt d'outils.",
        ("logement", "precarite-energetique"),
        ("association", "entreprise-ess"),
        ("climat-energie",),
        ("Mo-Fr 08:30-17:00",),
    ),
    # --- économie locale et ESS
    Family(
        "economie-locale-ess",
        ("Marché de producteurs de {commune}", "Le marché {nom}"),
        "Producteurs et artisans du coin, chaque semaine sur la place",
        "Chaque semaine, une quinzaine de producteurs et d'artisans des environs de "
        "{commune} vendent leurs produits sur la place : légumes, fromages, pain, miel.",
        ("precarite-alimentaire",),
        ("collectivite", "entreprise-ess"),
        ("alimentation",),
        ("Fr 16:00-19:30", "Su 09:00-13:00"),
    ),
    Family(
        "economie-locale-ess",
        ("Coopérative d'activité {nom}", "Couveuse d'entreprises de {commune}"),
        "Tester et développer son activité au sein d'une coopérative",
        "La coopérative accueille à {commune} des porteurs de projet qui testent leur "
        "activité sans créer d'entreprise, avec un accompagnement et un statut "
        "d'entrepreneur salarié.",
        ("insertion-emploi",),
        ("entreprise-ess",),
        (),
        ("Mo-Fr 09:00-17:30",),
    ),
    Family(
        "economie-locale-ess",
        ("Chantier d'insertion {nom}", "Jardins d'insertion de {commune}"),
        "Un emploi et un accompagnement pour rebondir",
        "Le chantier d'insertion de {commune} emploie des personnes éloignées de "
        "l'emploi à l'entretien d'espaces naturels et au maraîchage, avec une formation "
        "et un accompagnement socio-professionnel.",
        ("insertion-emploi", "precarite-alimentaire"),
        ("association", "entreprise-ess"),
        ("biodiversite-nature",),
        ("Mo-Fr 08:00-16:00",),
    ),
    # --- participation citoyenne
    Family(
        "participation-citoyenne",
        ("Budget participatif de {commune}", "Conseil citoyen du {lieu}"),
        "Les habitants proposent et votent des projets pour leur commune",
        "Chaque année, les habitants de {commune} proposent des projets, la commune en "
        "étudie la faisabilité et tous les habitants dès 11 ans votent pour choisir ceux "
        "qui seront réalisés.",
        ("isolement",),
        ("collectivite", "collectif-habitants"),
        (),
        ("Mo-Fr 09:00-12:00",),
    ),
    Family(
        "participation-citoyenne",
        ("Conseil municipal des jeunes de {commune}", "Assemblée des jeunes {nom}"),
        "Des jeunes élus portent leurs projets pour la commune",
        "Élus par leurs camarades, des écoliers et collégiens de {commune} se réunissent "
        "tout au long de l'année pour monter des projets : aménagements, solidarité, "
        "environnement.",
        ("acces-culture",),
        ("collectivite", "etablissement-public"),
        ("education-jeunesse",),
        ("We[1] 14:00-16:00",),
    ),
    # --- biodiversité et nature
    Family(
        "biodiversite-nature",
        ("Atlas de la biodiversité de {commune}", "Sentinelles de la nature {nom}"),
        "Inventorier ensemble la faune et la flore de la commune",
        "Naturalistes et habitants de {commune} inventorient oiseaux, insectes, plantes "
        "et mares, lors de sorties ouvertes à tous ; les données alimentent les choix "
        "d'aménagement de la commune.",
        ("climat",),
        ("collectivite", "association"),
        ("participation-citoyenne",),
        ("Sa[2] 09:00-12:00",),
    ),
    Family(
        "biodiversite-nature",
        ("Verger partagé {nom}", "Verger conservatoire de {commune}"),
        "Des variétés anciennes de pommiers et poiriers, plantées et récoltées ensemble",
        "Un verger planté par les habitants de {commune} conserve des variétés locales "
        "de fruits ; tailles, greffes et récoltes sont l'occasion d'ateliers ouverts.",
        ("climat", "precarite-alimentaire"),
        ("association", "collectif-habitants"),
        ("alimentation",),
        ("Sa[4] 14:00-17:00",),
    ),
    Family(
        "biodiversite-nature",
        ("Nettoyons les bords de Loire {nom}", "Opération rivière propre de {commune}"),
        "Ramassages de déchets et sensibilisation, chaque saison",
        "À chaque saison, des bénévoles ramassent les déchets sur les berges et les "
        "chemins de {commune}, les trient et les pèsent, et en tirent des actions de "
        "prévention avec les écoles.",
        ("climat",),
        ("association", "collectif-habitants"),
        ("participation-citoyenne",),
        ("Su[1] 10:00-12:00",),
    ),
    # --- tiers-lieux
    Family(
        "tiers-lieux",
        ("Tiers-lieu {nom}", "{nom}, tiers-lieu de {commune}"),
        "Café, ateliers, coworking et jardin : un lieu ouvert à tous",
        "Dans une ancienne grange de {commune}, le tiers-lieu réunit un café associatif, "
        "un espace de travail partagé, des ateliers et une salle de spectacle, animés par "
        "ses usagers.",
        ("isolement", "insertion-emploi"),
        ("association", "collectif-habitants", "entreprise-ess"),
        ("economie-locale-ess", "culture-bibliotheques"),
        ("We-Sa 10:00-19:00",),
    ),
    Family(
        "tiers-lieux",
        ("Café associatif {nom}", "Le café des habitants de {commune}"),
        "Un café géré par ses adhérents, avec concerts et ateliers",
        "Le café associatif de {commune} est tenu par des bénévoles : on y boit un verre, "
        "on joue, on écoute des concerts, on organise des ateliers et des réunions.",
        ("isolement", "acces-culture"),
        ("association", "collectif-habitants"),
        ("culture-bibliotheques",),
        ("Th,Fr 17:00-22:00; Sa 10:00-22:00",),
    ),
    Family(
        "tiers-lieux",
        ("Espace de coworking {nom}", "La Station, coworking de {commune}"),
        "Des bureaux partagés à deux pas de chez soi",
        "Un espace de travail partagé à {commune}, pour éviter les trajets quotidiens : "
        "bureaux, salle de réunion, visio, et une communauté d'indépendants et de "
        "télétravailleurs.",
        ("mobilite", "insertion-emploi"),
        ("entreprise-ess", "collectivite"),
        ("economie-locale-ess", "mobilite"),
        ("Mo-Fr 08:30-19:00",),
    ),
)

# Invented names, chosen to sound like the ones such initiatives take.
NAMES = (
    "La Clé à molette",
    "Le Grenier",
    "La Fabrique",
    "L'Établi",
    "Le Potager",
    "La Ruche",
    "Les Petites Mains",
    "La Boussole",
    "L'Escale",
    "La Passerelle",
    "Le Maillon",
    "La Bricole",
    "Le Fil",
    "La Grange",
    "Le Chaudron",
    "La Trame",
    "Le Sillon",
    "La Navette",
    "Le Phare",
    "L'Estuaire",
    "La Courte Échelle",
    "Le Bocage",
    "La Rose des vents",
    "Le Lien",
    "Les Coudes serrés",
    "La Source",
    "Le Quai",
    "La Marmite",
    "L'Ancre",
    "La Bouée",
)

PLACES = (
    "centre-bourg",
    "quartier de la Gare",
    "quartier des Écoles",
    "bourg",
    "quartier du Stade",
    "quartier de l'Église",
    "port",
    "quartier des Vignes",
)

STREETS = (
    "rue de la Mairie",
    "place de l'Église",
    "rue des Écoles",
    "avenue de la Gare",
    "rue du Stade",
    "chemin des Vignes",
    "allée des Tilleuls",
    "rue du Port",
    "place du Marché",
    "rue des Artisans",
    "impasse des Lavandières",
    "rue de la Poste",
)

AUDIENCES = (
    "Ouvert à tous les habitants, sans condition.",
    "Pour les habitants de la commune et des communes voisines.",
    "Pour les familles, les jeunes et les aînés ; accès de plain-pied.",
    "Sur inscription, gratuit ou à prix libre.",
)

WAYS_IN = (
    "Passez nous voir pendant les horaires d'ouverture.",
    "Écrivez-nous pour devenir bénévole, même une heure par mois.",
    "Suivez nos rendez-vous sur notre site.",
    "Adhésion à prix libre, à partir de 1 €.",
    "Parlez-en autour de vous : le bouche-à-oreille reste notre meilleur relais.",
)

CORRECTIONS = (
    ("opening_hours", "Mo-Fr 10:00-12:00", "Les horaires ont changé depuis la rentrée."),
    ("summary", None, "Le résumé ne dit pas que c'est gratuit."),
    ("phone", None, "Nouveau numéro de téléphone."),
    ("status", "paused", "L'activité est suspendue pendant les travaux de la salle."),
)
