"""Informed-consent text for IASTM, versioned and hashed.

Why: consent must show what the treatment is, what it feels like, its benefits, risks and
alternatives, the right to stop, and an honest account of the evidence. The
exact text shown is stored with the record as its template version and SHA-256 over the UTF-8
bytes, so anyone can later prove which words the patient agreed to.

The evidence summary reflects docs/sources.md: short-term benefit on pain and function in
some studies (S10), small range-of-motion gains of uncertain importance (S13), no clear
advantage over other treatments (S11), and one payer judging tool-assisted soft-tissue
mobilization investigational (S29). Changing any wording requires a new ``TEMPLATE_VERSION``.

The text is tailored to the patient: the condition is named in plain words, and the
precautions their screening raised are explained (``catalog/consent_precautions.json``) with
the dose limit they set. All of it is part of the hashed text, so the record proves which
precautions the patient was told about.

The patient may read it in their language (``language``): every part, the precautions too,
is a gettext message (``locale/``), and a translated text carries its own template version
(``iastm-es-…``) so the record says which words in which language were agreed to.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from strigil.core import catalog, i18n
from strigil.core.i18n import N_
from strigil.errors import InvalidInput

__all__ = [
    "DEFAULT_EVIDENCE_SUMMARY",
    "EVIDENCE_SOURCES",
    "TEMPLATE_VERSION",
    "TRANSLATED_VERSIONS",
    "ConsentText",
    "build_consent_text",
    "dose_sentence",
    "language_of",
    "precaution_sentences",
]

TEMPLATE_VERSION = "iastm-consent-2026.3"

DEFAULT_EVIDENCE_SUMMARY = N_(
    "Research on this treatment is mixed. Some studies found that it eased pain and improved "
    "day-to-day function for a short time (a 2019 review of trials). Gains in how far a joint "
    "moves are small, about 2 to 5 degrees on average, and the certainty of that evidence is "
    "low (a 2024 review). Reviews have not shown it to work better than other treatments such "
    "as exercise or hands-on therapy (a 2016 review), and at least one health insurer considers "
    "it unproven. It helps some people and not others, so we will measure your progress and "
    "change the plan if it is not helping."
)
# Where each sentence comes from (docs/sources.md): the patient reads plain words, the
# record keeps the keys.
EVIDENCE_SOURCES = ("S10", "S13", "S11", "S29")

_TEMPLATE = N_("""\
Consent to instrument-assisted soft tissue mobilization (IASTM)

Your condition: {condition}
Planned treatment: {plan}

What it is
Your therapist glides a smooth, shaped tool, usually stainless steel, over your skin with a \
little lotion. Light strokes help find stiff or tight areas in the muscle and connective \
tissue; firmer strokes then work on those areas. It is used together with exercise, not on \
its own.

What you may feel
Pressure and scraping, and sometimes discomfort. Before we start we will agree how much \
discomfort (on a scale of 0 to 10) is acceptable, and we stop an area when you reach it.

Possible benefits
Less pain, easier movement and better function, usually alongside your exercise programme.

Risks
- Redness and warmth of the skin, which usually fade within hours.
- Small red or purple dots on the skin (petechiae); when they appear we stop treating that area.
- Bruising, which can show a day or two later and usually fades within days.
- Soreness for a day or two.
- Pain that is temporarily worse.
- The treatment may not help you.
Tell us if bruising spreads or does not fade, or if you notice calf pain or swelling, numbness \
or weakness.
{tailored}
Alternatives
Exercise therapy, hands-on manual therapy, education and advice, or no treatment. You can \
choose any of these instead.

What the research says
{evidence}

Your right to stop
You may stop the treatment at any time, for any reason. Say "stop" or raise your hand and we \
will stop straight away. Stopping will not affect the rest of your care, and you can withdraw \
this consent at any later visit.
""")
_TAILORED_HEADING = N_("What your health questions mean for you")
INTENSITIES = (N_("gentle"), N_("moderate"), N_("firm"))


# A translation's own version: it changes when its words do, even if the English do not.
# es 2026.4: the condition's plain name is in Spanish too (it was the English title before).
TRANSLATED_VERSIONS = {"es": "iastm-es-2026.4"}


def language_of(version: str) -> str:
    """The language of a stored text's template version (``iastm-es-…`` is Spanish; the plain
    ``iastm-consent-…`` is English)."""
    middle = version.split("-")[1] if version.count("-") >= 2 else ""
    return middle if middle in i18n.LANGUAGES else i18n.DEFAULT


def version_for(language: str | None) -> str:
    """The template version of the text in ``language`` (English keeps the plain version)."""
    chosen = i18n.supported(language) or i18n.DEFAULT
    return TRANSLATED_VERSIONS.get(chosen, TEMPLATE_VERSION)


@dataclass(frozen=True)
class ConsentText:
    """The exact consent text shown, its template version and SHA-256 (hex) of its UTF-8."""

    version: str
    text: str
    sha256: str

    def verify(self) -> bool:
        """True when ``sha256`` still matches ``text``."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest() == self.sha256


def _required(value: str | None, field: str) -> str:
    text = " ".join((value or "").split())
    if not text:
        raise InvalidInput(f"{field.replace('_', ' ')} is required", code="required", field=field)
    return text


@cache
def _precaution_texts() -> dict[str, str]:
    raw = files(catalog.__name__).joinpath("consent_precautions.json").read_text("utf-8")
    return {p["rule"]: p["text"] for p in json.loads(raw)["precautions"]}


def precaution_sentences(rule_ids: Sequence[str], language: str | None = None) -> tuple[str, ...]:
    """Plain sentences for the screening rules that apply, in rule order, each once, in
    ``language``; rules with nothing to tell the patient are left out."""
    texts = _precaution_texts()
    order = {r.id: i for i, r in enumerate(catalog.screening_rules())}
    wanted = sorted({r for r in rule_ids if r in texts}, key=lambda r: order.get(r, len(order)))
    return tuple(i18n.translate(language, texts[r]) for r in wanted)


def dose_sentence(
    intensity: str | None, seconds: int | None, language: str | None = None
) -> str | None:
    """The dose limit the precautions set, in plain words (None when there is none)."""
    if intensity is None and seconds is None:
        return None
    with i18n.using(language):
        _ = i18n.gettext
        parts = [_("{intensity} pressure").format(intensity=_(intensity))] if intensity else []
        if seconds:
            parts += [_("{seconds} seconds on each area").format(seconds=seconds)]
        limits = _(" and ").join(parts)
        return _("Because of this we will use no more than {limits}.").format(limits=limits)


def _tailored(precautions: Sequence[str], dose: str | None) -> str:
    if not precautions:
        return ""
    lines = "".join(f"- {' '.join(p.split())}\n" for p in precautions)
    limit = f"{dose}\n" if dose else ""
    return f"\n{i18n.gettext(_TAILORED_HEADING)}\n{lines}{limit}"


def build_consent_text(
    condition_title: str,
    plan: str,
    evidence_summary: str | None = None,
    precautions: Sequence[str] = (),
    dose: str | None = None,
    language: str | None = None,
) -> ConsentText:
    """Fill the template for this patient and hash the result.

    ``evidence_summary`` replaces the default summary (for example one generated from the
    evidence module); it must not be blank. ``precautions`` are the plain sentences for the
    patient's screening (:func:`precaution_sentences`) and ``dose`` the limit they set
    (:func:`dose_sentence`, both given in the same ``language``); both become part of the
    hashed text. ``language`` picks the template's translation (English by default).
    """
    with i18n.using(language):
        evidence = evidence_summary
        if evidence_summary is None:
            evidence = i18n.gettext(DEFAULT_EVIDENCE_SUMMARY)
        text = i18n.gettext(_TEMPLATE).format(
            condition=_required(condition_title, "condition_title"),
            plan=_required(plan, "plan"),
            evidence=_required(evidence, "evidence_summary"),
            tailored=_tailored(precautions, dose),
        )
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return ConsentText(version=version_for(language), text=text, sha256=digest)
