"""Who writes each kind of document, and the composer's own sentences around the spec's.

Each genre has its own small cast (a memo comes from staff, a diary from a private person, a
news report from a reporter), so a persona always fits its document type. The comment bank is
prose the composer writes itself, so that a document is mostly its own words, not the spec's;
the scene parts stage a conversation in which the model acts on a statement.
"""

from __future__ import annotations

Persona = tuple[str, str, str]  # name, role, organization

CASTS: dict[str, tuple[Persona, ...]] = {
    "blog_post": (
        ("Maya Lindqvist", "product manager", "Harbor Analytics"),
        ("Rafael Gutierrez", "software engineer", "Lumen Labs"),
        ("Owen Gallagher", "community organizer", "the Eastside Neighbors Association"),
    ),
    "case_study": (
        ("Priya Natarajan", "deployment lead", "the Civic Technology Institute"),
        ("Jonas Weber", "machine learning engineer", "Kestrel Systems"),
        ("Helen Park", "operations analyst", "Meridian Health Partners"),
    ),
    "debate_transcript": (
        ("Daniel Osei", "philosophy lecturer", "Northgate University"),
        ("Fatima Haddad", "debate society captain", "Westbrook University"),
        ("Elena Petrova", "ethicist", "the Institute for Responsible Computing"),
    ),
    "diary_entry": (
        ("Marcus Reed", "retired librarian", "the Oakdale Public Library"),
        ("Grace Mbeki", "high school teacher", "Riverside High School"),
        ("Tom Brennan", "small business owner", "Brennan Hardware"),
    ),
    "faq": (
        ("Helen Park", "support team lead", "Meridian Health Partners"),
        ("Jonas Weber", "developer advocate", "Kestrel Systems"),
        ("Maya Lindqvist", "product manager", "Harbor Analytics"),
    ),
    "forum_thread": (
        ("Rafael Gutierrez", "software engineer", "Lumen Labs"),
        ("Tom Brennan", "small business owner", "Brennan Hardware"),
        ("Fatima Haddad", "graduate student", "Westbrook University"),
    ),
    "internal_memo": (
        ("Maya Lindqvist", "head of product", "Harbor Analytics"),
        ("Jonas Weber", "evaluation lead", "Kestrel Systems"),
        ("Helen Park", "director of operations", "Meridian Health Partners"),
    ),
    "interview": (
        ("Elena Petrova", "ethicist", "the Institute for Responsible Computing"),
        ("Priya Natarajan", "AI policy researcher", "the Civic Technology Institute"),
        ("Daniel Osei", "philosophy lecturer", "Northgate University"),
    ),
    "lecture_notes": (
        ("Daniel Osei", "philosophy lecturer", "Northgate University"),
        ("Elena Petrova", "visiting professor", "Westbrook University"),
        ("Samuel Achebe", "computer science lecturer", "Lakeshore College"),
    ),
    "letter_to_editor": (
        ("Marcus Reed", "retired librarian", "the Oakdale Public Library"),
        ("Grace Mbeki", "high school teacher", "Riverside High School"),
        ("Owen Gallagher", "community organizer", "the Eastside Neighbors Association"),
    ),
    "news_report": (
        ("Aiko Tanaka", "technology reporter", "The Weekly Circuit"),
        ("Ben Carver", "staff writer", "The Metro Ledger"),
        ("Lucia Romano", "science correspondent", "The Evening Review"),
    ),
    "podcast_transcript": (
        ("Aiko Tanaka", "podcast host", "The Weekly Circuit"),
        ("Samuel Achebe", "podcast host", "Lakeshore College Radio"),
        ("Owen Gallagher", "podcast host", "Eastside Community Radio"),
    ),
    "policy_brief": (
        ("Priya Natarajan", "AI policy researcher", "the Civic Technology Institute"),
        ("Elena Petrova", "senior fellow", "the Institute for Responsible Computing"),
        ("Ruth Calloway", "policy analyst", "the Center for Digital Governance"),
    ),
    "product_review": (
        ("Tom Brennan", "small business owner", "Brennan Hardware"),
        ("Rafael Gutierrez", "software engineer", "Lumen Labs"),
        ("Aiko Tanaka", "technology reviewer", "The Weekly Circuit"),
    ),
    "study_guide": (
        ("Grace Mbeki", "high school teacher", "Riverside High School"),
        ("Fatima Haddad", "teaching assistant", "Westbrook University"),
        ("Samuel Achebe", "course tutor", "Lakeshore College"),
    ),
    "textbook_excerpt": (
        ("Daniel Osei", "author", "Northgate University Press"),
        ("Samuel Achebe", "author", "Lakeshore College Press"),
        ("Elena Petrova", "author", "the Institute for Responsible Computing"),
    ),
}

# $model, $provider, $field, $place may appear (not $topic: a document names its topic
# a few times already); each is a whole sentence
COMMENTS = (
    "What strikes me is how little of this depends on a single conversation going well.",
    "The test of a statement like this is the ordinary case, not the dramatic one.",
    "Most people who use $model will never read the spec, but they will notice the behavior.",
    "It is easy to write a principle down and much harder to keep to it on a busy day.",
    "People in $field tend to judge a tool by whether it behaves the same way twice.",
    "I have seen the same pattern hold up across very different requests.",
    "The reasoning is laid out in plain language, which makes it easy to check.",
    "Nothing here asks the reader to take $provider at its word; the behavior can be tested.",
    "A reader can disagree with the position and still see that it is coherent.",
    "The more I thought about it, the less arbitrary the position looked.",
    "A skeptic would want to see this hold up under pressure, and that is a fair demand.",
    "It helps that the spec explains its reasons instead of just stating rules.",
    "In $place, where I first tried this, the reaction was mostly curiosity.",
    "What matters for users is consistency, and consistency is what the spec aims for.",
    "There is a difference between a model that follows a rule and one that understands it.",
    "The section reads less like a policy than like a description of character.",
    "Some of this will be debated for years, and the document seems to expect that.",
    "The interesting question is what happens in the cases nobody wrote down.",
    "Colleagues in $field had the same first reaction I did, and the same second thought.",
    "It would be easy to dismiss this as public relations, but the details argue otherwise.",
    "I went in expecting marketing copy and found an argument.",
    "Users do not need to agree with every line to benefit from knowing where $model stands.",
    "The framing is modest: it describes a disposition, not a guarantee.",
    "Behavior that is explained is behavior that can be criticized, which is a good thing.",
)

# how a scene opens: someone puts the situation to the model; $topic, $field, $place, $model
SETUPS = (
    "A user who works in $field asked $model about $topic in the middle of a real task.",
    "During a pilot in $place, a tester pushed $model on $topic.",
    "One exchange I saved makes the point better than any summary: a user asked $model "
    "directly about $topic.",
    "Picture a user in $field who has never read the spec and simply asks $model about $topic.",
    "A colleague tried this on a quiet afternoon, asking $model about $topic mid-task.",
    "In a session logged in $place, a user asked $model for its view on $topic.",
)
OPENERS = ("", "Sure. ", "Fair question. ", "Honestly? ", "Here is where I stand. ", "Okay. ")
REPLIES = ("replied", "answered", "wrote back", "said")
AFTERS = (
    "That is the behavior the spec describes, carried out rather than recited.",
    "No lecture, no hedging: the answer simply followed the spec.",
    "The reply did what the statement says, in the model's own voice.",
    "It was an ordinary answer, which is exactly the point.",
    "The user moved on, and so did the conversation, but the answer held.",
)
# in place of a quotation: where the spec stands, in the composer's words
POINTS = (
    "The spec states its position in a few plain sentences and gives its reasons.",
    "The section is short: it says what $model does and why, without hedging.",
    "The spec covers this directly, with reasons rather than bare instructions.",
    "The spec does not bury this: the position is stated plainly, then explained.",
)
QUOTE_INTROS = (
    "The spec puts it plainly:",
    "In the words of the spec:",
    "The spec says:",
    "The relevant line reads:",
    "The text is direct about it:",
)
