"""Questionnaires a patient can fill in alone, in the words a patient reads.

Why a separate table: the registry (:mod:`strigil.core.measures`) names items for clinicians
("Forceful recreation"); a patient on a phone needs the question, what the numbers mean and a
plain name for the score ("arm function score"). Only measures whose every item is one number on
one scale are offered: a patient can answer them one screen at a time without a clinician
(ROM, pressure threshold and sit-and-reach are measured by staff; VISA branches and PSFS's own
activities need a conversation). Scoring stays with :mod:`strigil.core.scoring`, the same
engine staff entry uses. Strings are English source text marked with ``N_`` (a marker only:
``make messages`` extracts them) and translated by the web layer (``_()`` in the templates).

A published instrument's own items (QuickDASH, LEFS, PRTEE) are never translated here: a
questionnaire's validity rests on its checked translation, whose text is its holder's, so
none is made up or shipped (ADR 0023). They are shown as published, in English, with a note
in the patient's language saying why, unless the clinic installed the checked translation it
holds as a pack (:mod:`strigil.core.instrument_translations`); then a page in the pack's
language shows the pack's items. Strigil's own words (prompts, anchors, the pain scale's one
item) are translated with the catalogs.
"""

from __future__ import annotations

from dataclasses import dataclass

from strigil.core.i18n import N_
from strigil.core.measures import Measure, get_measure
from strigil.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class PatientWording:
    """How a measure is put to a patient."""

    score_name: str  # "arm function score": what the progress page calls it
    prompt: str  # asked above every item
    low: str  # what the lowest number means
    high: str  # what the highest number means
    item_labels: tuple[str, ...] = ()
    """Strigil's own words for the items (translated); empty for a published instrument,
    whose items are shown as published or from the clinic's checked translation."""


WORDING: dict[str, PatientWording] = {
    "NPRS": PatientWording(
        score_name=N_("pain score"),
        prompt=N_("How strong is your pain right now?"),
        low=N_("no pain"),
        high=N_("the worst pain you can imagine"),
        item_labels=(N_("Your pain"),),
    ),
    "QUICKDASH": PatientWording(
        score_name=N_("arm function score"),
        prompt=N_("Think of your arm, shoulder or hand during the past week."),
        low=N_("no difficulty or no symptoms"),
        high=N_("unable, or extreme symptoms"),
    ),
    "LEFS": PatientWording(
        score_name=N_("leg function score"),
        prompt=N_("Today, because of your leg or foot problem, how hard is it for you to do this?"),
        low=N_("extreme difficulty or unable"),
        high=N_("no difficulty"),
    ),
    "PRTEE": PatientWording(
        score_name=N_("elbow pain and function score"),
        prompt=N_("Think of your elbow during the past week."),
        low=N_("no pain or no difficulty"),
        high=N_("worst pain, or unable to do it"),
    ),
}


SCREENING = "SCREENING"
"""The pseudo-measure code that adds the intake screening questions to a questionnaire link."""

# Whole-body screening questions a patient can answer about themselves, in their words. Rules
# about the treated area (skin, wounds, veins there) need the therapist to look, and blood
# pressure needs a reading, so those stay with the clinic's screening. The patient's answers
# are only a draft: they count when a therapist checks them and records the screening.
SCREENING_QUESTIONS: dict[str, str] = {
    "A3": N_("Do you have a blood clot in a vein (deep vein thrombosis), or an inflamed vein?"),
    "A10": N_("Do you have serious kidney disease, or are you on dialysis?"),
    "A13": N_("Do you have a bleeding disorder (for example haemophilia) or bleed very easily?"),
    "R1": N_(
        "Do you take a blood thinner (for example warfarin, apixaban, aspirin or clopidogrel)?"
    ),
    "R2": N_("Have you ever had a blood clot in a vein or in a lung?"),
    "R3": N_("Have you had cancer, or are you having chemotherapy or radiotherapy now?"),
    "R7": N_("Do you have rheumatoid arthritis, lupus or another autoimmune condition?"),
    "R8": N_("Are you pregnant, or could you be?"),
    "R11": N_("Are you taking, or did you recently take, an antibiotic such as ciprofloxacin?"),
    "R13": N_(
        "Do you take anti-inflammatory painkillers (like ibuprofen) regularly, "
        "or hormone replacement therapy?"
    ),
    "R16": N_("Are you very sensitive to touch or pain, for example with fibromyalgia?"),
    "R18": N_("Do you have Ehlers-Danlos syndrome or another condition with very flexible joints?"),
    "R22": N_("Do you have a fever, an infection or another illness today?"),
    "R23": N_("Are you very worried about pain, or afraid of the treatment?"),
}


def answerable() -> tuple[str, ...]:
    """Codes of the measures a patient may be sent, in a stable order."""
    return tuple(WORDING)


def wording(code: str) -> PatientWording:
    """The patient's wording for a measure; InvalidInput if it is not offered to patients."""
    found = WORDING.get(code.strip().upper())
    if found is None:
        raise InvalidInput(
            f"measure must be one a patient can answer alone: {', '.join(WORDING)}",
            field="measures",
            code="not_patient_reported",
        )
    return found


def max_missing(m: Measure) -> int:
    """How many items the measure's own scoring rule lets a patient skip."""
    rule = m.scoring.get("missing", {})
    cap = rule.get("max_missing")
    if cap is not None:
        return int(cap)
    subscales = m.scoring.get("subscales", {})
    caps = [int(s.get("max_missing", 0)) for s in subscales.values()]
    return sum(caps)


@dataclass(frozen=True, slots=True)
class Screen:
    """One question on one screen: a measure's item, or a screening question (``rule_id``)."""

    index: int
    measure: Measure | None
    item_index: int
    rule_id: str | None = None

    @property
    def name(self) -> str:
        """The form field that carries this answer (measure code and item, no clinical text)."""
        return f"q{self.index}"


def screens(codes: tuple[str, ...] | list[str]) -> tuple[Screen, ...]:
    """Every item of every measure, one screen each, in the order the link lists them."""
    out: list[Screen] = []
    for code in codes:
        if code == SCREENING:
            for rule_id in SCREENING_QUESTIONS:
                out.append(Screen(len(out), None, 0, rule_id))
            continue
        m = get_measure(code)
        wording(m.code)
        for item_index in range(len(m.items)):
            out.append(Screen(len(out), m, item_index))
    return tuple(out)
