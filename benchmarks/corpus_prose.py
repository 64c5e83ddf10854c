"""The prose of the synthetic newsroom: word lists written for the project (fictional
towns, people and story topics) and the sentences made from them.
"""

from __future__ import annotations

import random

SECTIONS = ("Politics", "Business", "World", "Science", "Local", "Sport", "Culture", "Opinion")
TOWNS = (
    "Calderport",
    "Ravensmoor",
    "Eastbridge",
    "Lanterby",
    "Northholm",
    "Saltwick",
    "Tidecross",
    "Highfold",
    "Kestrelby",
    "Weirmouth",
    "Ashcombe",
    "Brackenfield",
)
FIRST = (
    "Amara",
    "Tobias",
    "Ilse",
    "Rohan",
    "Maren",
    "Callum",
    "Yusra",
    "Dorian",
    "Freya",
    "Ansel",
    "Priya",
    "Lorcan",
    "Tamsin",
    "Otto",
    "Neve",
    "Caspian",
)
LAST = (
    "Hartwell",
    "Okonjo",
    "Vance",
    "Lindqvist",
    "Marchetti",
    "Penhallow",
    "Achebe",
    "Strand",
    "Ferreira",
    "Quill",
    "Bramley",
    "Nakamura",
    "Delacroix",
    "Moreau",
)
TOPICS = (
    ("harbour expansion", "the port authority", "dredging contract", "shipping lanes"),
    ("water dispute", "the reservoir trust", "hosepipe restrictions", "river levels"),
    ("rail upgrade", "the transit board", "signalling works", "commuter delays"),
    ("hospital funding", "the health trust", "waiting lists", "ward closures"),
    ("school reform", "the education board", "exam timetable", "teacher vacancies"),
    ("energy tariff", "the grid operator", "price cap", "storage batteries"),
    ("housing plan", "the planning committee", "brownfield sites", "affordable homes"),
    ("fishing quota", "the fisheries council", "catch limits", "coastal boats"),
    ("wind farm", "the offshore consortium", "turbine foundations", "cable landing"),
    ("library closures", "the county council", "opening hours", "volunteer staff"),
    ("flood defences", "the environment agency", "tidal barrier", "sea wall"),
    ("bus franchise", "the combined authority", "fare freeze", "rural routes"),
)
VERBS = (
    "said",
    "argued",
    "warned",
    "confirmed",
    "insisted",
    "suggested",
    "admitted",
    "announced",
    "claimed",
    "noted",
)
ADJECTIVES = (
    "ambitious",
    "delayed",
    "costly",
    "controversial",
    "long-awaited",
    "revised",
    "temporary",
    "modest",
    "sweeping",
    "disputed",
    "provisional",
    "unexpected",
)
PHRASES = (
    "the plan would be reviewed again before the autumn",
    "the timetable left little room for further consultation",
    "residents had not been told about the changes in advance",
    "the figures would be published in full next month",
    "talks with contractors were continuing behind closed doors",
    "the budget had already been stretched by rising costs",
    "an independent inquiry could not be ruled out",
    "local businesses were worried about the disruption",
    "the decision followed months of negotiation",
    "campaigners intended to challenge the proposal in court",
    "several councillors had asked for a vote on the scheme",
    "the earlier estimate had underestimated the work involved",
    "a second phase would depend on national funding",
    "the original deadline was now unlikely to be met",
    "officials were confident that the schedule was realistic",
    "the cost to households remained unclear",
)
QUOTES = (
    "We have listened carefully and we will keep listening",
    "Nobody wants this to drag on for another year",
    "The numbers simply do not add up",
    "This is the most important decision the town has faced in a generation",
    "We were given assurances that have not been kept",
    "It is a fair compromise and it should be accepted",
    "People deserve a straight answer",
    "We will not be rushed into a bad deal",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def person(rng: random.Random) -> str:
    """A made-up full name."""
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def sentence(rng: random.Random, topic: tuple[str, str, str, str], town: str) -> str:
    """One sentence of a story on `topic` in `town`: a statement, a cost, a quote or a dispute."""
    kind = rng.randrange(5)
    if kind == 0:
        who = f"{person(rng)}, a spokesperson for {topic[1]},"
        return f"{who} {rng.choice(VERBS)} that {rng.choice(PHRASES)}."
    if kind == 1:
        number = rng.randint(2, 950)
        return (
            f"The {rng.choice(ADJECTIVES)} {topic[2]} in {town} is expected to cost "
            f"{number} million, {rng.choice(VERBS)} officials, and {rng.choice(PHRASES)}."
        )
    if kind == 2:
        return f'"{rng.choice(QUOTES)}," {rng.choice(VERBS)} {person(rng)}, a resident of {town}.'
    if kind == 3:
        return (
            f"Critics of the {topic[0]} {rng.choice(VERBS)} that {rng.choice(PHRASES)}, "
            f"while supporters pointed to the {rng.choice(ADJECTIVES)} {topic[3]}."
        )
    return (
        f"In {town}, {topic[1]} {rng.choice(VERBS)} on {rng.choice(WEEKDAYS)} that "
        f"{rng.choice(PHRASES)} and that the {topic[3]} would be {rng.choice(ADJECTIVES)}."
    )
