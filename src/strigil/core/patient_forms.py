"""Questionnaires a patient can fill in alone, in the words a patient reads.

Why a separate table: the registry (:mod:`strigil.core.measures`) names items for clinicians
("Forceful recreation"); a patient on a phone needs the question, what the numbers mean and a
plain name for the score ("arm function score"). Only measures whose every item is one number on
one scale are offered: a patient can answer them one screen at a time without a clinician
(ROM, pressure threshold and sit-and-reach are measured by staff; VISA branches and PSFS's own
activities need a conversation). Scoring stays with :mod:`strigil.core.scoring`, the same
engine staff entry uses. Strings are English source text that the web layer translates
(``_()`` in the templates), so this module imports no translation machinery.
"""

from __future__ import annotations

from dataclasses import dataclass

from strigil.core.measures import Measure, get_measure
from strigil.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class PatientWording:
    """How a measure is put to a patient."""

    score_name: str  # "arm function score": what the progress page calls it
    prompt: str  # asked above every item
    low: str  # what the lowest number means
    high: str  # what the highest number means


WORDING: dict[str, PatientWording] = {
    "NPRS": PatientWording(
        score_name="pain score",
        prompt="How strong is your pain right now?",
        low="no pain",
        high="the worst pain you can imagine",
    ),
    "QUICKDASH": PatientWording(
        score_name="arm function score",
        prompt="Think of your arm, shoulder or hand during the past week.",
        low="no difficulty or no symptoms",
        high="unable, or extreme symptoms",
    ),
    "LEFS": PatientWording(
        score_name="leg function score",
        prompt="Today, because of your leg or foot problem, how hard is it for you to do this?",
        low="extreme difficulty or unable",
        high="no difficulty",
    ),
    "PRTEE": PatientWording(
        score_name="elbow pain and function score",
        prompt="Think of your elbow during the past week.",
        low="no pain or no difficulty",
        high="worst pain, or unable to do it",
    ),
}


SCREENING = "SCREENING"
"""The pseudo-measure code that adds the intake screening questions to a questionnaire link."""

# Whole-body screening questions a patient can answer about themselves, in their words. Rules
# about the treated area (skin, wounds, veins there) need the therapist to look, and blood
# pressure needs a reading, so those stay with the clinic's screening. The patient's answers
# are only a draft: they count when a therapist checks them and records the screening.
SCREENING_QUESTIONS: dict[str, str] = {
    "A3": "Do you have a blood clot in a vein (deep vein thrombosis), or an inflamed vein?",
    "A10": "Do you have serious kidney disease, or are you on dialysis?",
    "A13": "Do you have a bleeding disorder (for example haemophilia) or bleed very easily?",
    "R1": "Do you take a blood thinner (for example warfarin, apixaban, aspirin or clopidogrel)?",
    "R2": "Have you ever had a blood clot in a vein or in a lung?",
    "R3": "Have you had cancer, or are you having chemotherapy or radiotherapy now?",
    "R7": "Do you have rheumatoid arthritis, lupus or another autoimmune condition?",
    "R8": "Are you pregnant, or could you be?",
    "R11": "Are you taking, or did you recently take, an antibiotic such as ciprofloxacin?",
    "R13": "Do you take anti-inflammatory painkillers (like ibuprofen) regularly, "
    "or hormone replacement therapy?",
    "R16": "Are you very sensitive to touch or pain, for example with fibromyalgia?",
    "R18": "Do you have Ehlers-Danlos syndrome or another condition with very flexible joints?",
    "R22": "Do you have a fever, an infection or another illness today?",
    "R23": "Are you very worried about pain, or afraid of the treatment?",
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
