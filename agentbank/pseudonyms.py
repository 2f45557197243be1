"""Pseudonymous identities: the agent id and the made-up name that stand in for a participant.

The agent id is the participant's ``pseudonym_id`` (a UUID, created at sign-up) so that the agent
folder, the tidy tables and a predictions file all use one key, and the database can find the
person again for evaluation. The Prolific id never leaves the database.

Names come from fixed pools of common U.S. first names (male and female) and surnames, picked by a
hash of a seed, so that an agent's name is the same in every export.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Collection, Sequence

# Pools of common U.S. given names and surnames (Census/SSA frequency lists, top entries).
MALE_FIRST_NAMES: tuple[str, ...] = (
    "James", "Robert", "John", "Michael", "David", "William", "Richard", "Joseph", "Thomas", "Charles",
    "Christopher", "Daniel", "Matthew", "Anthony", "Mark", "Donald", "Steven", "Paul", "Andrew", "Joshua",
    "Kenneth", "Kevin", "Brian", "George", "Timothy", "Ronald", "Jason", "Edward", "Jeffrey", "Ryan",
    "Jacob", "Gary", "Nicholas", "Eric", "Jonathan",
)
FEMALE_FIRST_NAMES: tuple[str, ...] = (
    "Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica", "Sarah", "Karen",
    "Lisa", "Nancy", "Betty", "Sandra", "Ashley", "Kimberly", "Emily", "Donna", "Michelle", "Carol",
    "Amanda", "Melissa", "Deborah", "Stephanie", "Rebecca", "Sharon", "Laura", "Cynthia", "Amy", "Kathleen",
    "Angela", "Shirley", "Brenda", "Emma", "Anna",
)
FIRST_NAMES: tuple[str, ...] = MALE_FIRST_NAMES + FEMALE_FIRST_NAMES
# Given names common for both sexes (none is also a surname of LAST_NAMES): an agent's own name must
# not tell its sex, which is a GSS item it is scored on.
NEUTRAL_FIRST_NAMES: tuple[str, ...] = (
    "Alex", "Jordan", "Morgan", "Casey", "Riley", "Jamie", "Avery", "Quinn", "Cameron", "Drew", "Reese", "Rowan",
    "Sam", "Skyler", "Dakota", "Emerson", "Finley", "Hayden", "Jesse", "Kendall", "Logan", "Peyton", "Sage",
    "Blake", "Charlie", "Elliot", "Frankie", "Harper", "Kai", "Robin", "Shawn", "Terry", "Ashton", "Jody",
    "Kerry", "Lane", "Marley", "Sidney", "Tatum", "Remy",
)
LAST_NAMES: tuple[str, ...] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Taylor", "Moore", "Jackson", "Martin", "Lee",
    "Perez", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young",
    "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams",
    "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Gomez", "Phillips",
    "Evans", "Turner", "Diaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes", "Stewart", "Morris",
)

_AGENT_NAMESPACE = uuid.UUID("8f6d1c52-3b8e-4f0a-9d6e-5a7c2b1e0f43")


def agent_id(pseudonym_id: str) -> str:
    """The agent's UUID: the pseudonym id itself when it is a UUID, else a UUID derived from it."""
    try:
        return str(uuid.UUID(pseudonym_id))
    except ValueError:
        return str(uuid.uuid5(_AGENT_NAMESPACE, pseudonym_id))


def _rank(seed: str, candidate: str) -> str:
    return hashlib.sha256(f"{seed}\x00{candidate}".encode()).hexdigest()


def pick(pool: Sequence[str], seed: str, exclude: Collection[str] = ()) -> str:
    """A name from ``pool`` chosen by ``seed`` (stable), skipping any in ``exclude`` (case-insensitive).

    When every name is excluded, a numbered name (``"Name 2"``) keeps the choice unique.
    """
    taken = {name.casefold() for name in exclude}
    ordered = sorted(pool, key=lambda name: _rank(seed, name))
    for name in ordered:
        if name.casefold() not in taken:
            return name
    counter = 2
    while True:
        for name in ordered:
            numbered = f"{name} {counter}"
            if numbered.casefold() not in taken:
                return numbered
        counter += 1


def agent_name(agent: str) -> tuple[str, str]:
    """The agent's pseudonymous (first name, last name), the same in every export.

    The first name is one used for both sexes (``NEUTRAL_FIRST_NAMES``): genagents puts the name in
    every prompt, and a gendered name would hand the agent its answer to the GSS ``sex`` item.
    """
    return pick(NEUTRAL_FIRST_NAMES, f"agent-first:{agent}"), pick(LAST_NAMES, f"agent-last:{agent}")
