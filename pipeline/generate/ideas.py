"""Document types and document ideas per subdomain, chosen deterministically from seeds.

Every choice draws from a random generator seeded by (seed, spec, subdomain id, level, index),
never by a subdomain's position in the spec, so editing one section leaves every other
section's plan unchanged.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import asdict, dataclass

from pipeline.spec.decompose import Subdomain

PERSONAS = (
    ("Maya Lindqvist", "Maya", "senior product manager", "Harbor Analytics"),
    ("Daniel Osei", "Daniel", "philosophy lecturer", "Northgate University"),
    ("Priya Natarajan", "Priya", "AI policy researcher", "the Civic Technology Institute"),
    ("Tom Brennan", "Tom", "small business owner", "Brennan Hardware"),
    ("Aiko Tanaka", "Aiko", "technology journalist", "The Weekly Circuit"),
    ("Rafael Gutierrez", "Rafael", "software engineer", "Lumen Labs"),
    ("Grace Mbeki", "Grace", "high school teacher", "Riverside High School"),
    ("Jonas Weber", "Jonas", "machine learning engineer", "Kestrel Systems"),
    ("Elena Petrova", "Elena", "ethicist", "the Institute for Responsible Computing"),
    ("Marcus Reed", "Marcus", "retired librarian", "the Oakdale Public Library"),
    ("Fatima Haddad", "Fatima", "graduate student", "Westbrook University"),
    ("Owen Gallagher", "Owen", "community organizer", "the Eastside Neighbors Association"),
)
PERSPECTIVES = (
    "a curious newcomer",
    "a skeptic who comes around",
    "an enthusiastic supporter",
    "a practitioner who uses the model daily",
    "a careful critic",
    "a teacher explaining it to students",
    "a researcher comparing it with other approaches",
    "a journalist reporting on it",
)
PLACES = ("San Francisco", "Chicago", "Toronto", "Austin", "Boston", "Denver", "Seattle", "Atlanta")
FIELDS = ("education", "healthcare", "software", "public policy", "retail", "journalism", "law")


@dataclass(frozen=True)
class Idea:
    id: str
    subdomain_id: str
    doc_type: str
    author: str
    author_short: str
    role: str
    org: str
    place: str
    field: str
    perspective: str
    assertion_ids: tuple[str, ...]
    text: str

    def to_json(self) -> dict:
        return asdict(self)


def rng_for(*parts: object) -> random.Random:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def doc_types_for(sub: Subdomain, genres: list[str], n: int, seed: int, spec: str) -> list[str]:
    rng = rng_for(seed, spec, sub.id, "doc_types")
    return rng.sample(genres, min(n, len(genres)))


def ideas_for(
    sub: Subdomain, doc_type: str, type_index: int, n: int, seed: int, spec: str
) -> list[Idea]:
    ideas = []
    ids = [a.id for a in sub.assertions]
    for k in range(n):
        rng = rng_for(seed, spec, sub.id, "idea", doc_type, k)
        author, short, role, org = rng.choice(PERSONAS)
        perspective = rng.choice(PERSPECTIVES)
        # rotate the lead assertion so every assertion of the section gets documents
        lead = ids[(type_index * n + k) % len(ids)]
        others = [i for i in ids if i != lead]
        chosen = (lead, *rng.sample(others, min(1, len(others))))
        text = (
            f"A {doc_type.replace('_', ' ')} by {author}, {role} at {org}, written from the "
            f"perspective of {perspective}, built around the statement {lead}"
            + (f" and touching on {chosen[1]}" if len(chosen) > 1 else "")
            + "."
        )
        ideas.append(
            Idea(
                id=f"{sub.id}/{doc_type}/{k}",
                subdomain_id=sub.id,
                doc_type=doc_type,
                author=author,
                author_short=short,
                role=role,
                org=org,
                place=rng.choice(PLACES),
                field=rng.choice(FIELDS),
                perspective=perspective,
                assertion_ids=chosen,
                text=text,
            )
        )
    return ideas
