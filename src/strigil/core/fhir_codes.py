"""Code systems and codes Strigil uses when it speaks FHIR (R4 4.0.1 on the wire).

Why a module of constants: the same URIs are written by the export and read back by the
import, so they must be spelled in one place. Only LOINC codes marked verified in the
measure catalog (``measures.json``, with their source) are used as LOINC; every other code
is Strigil's own, under the ``urn:strigil:fhir:`` namespace (see ADR 0010), so no receiving
system mistakes a local code for a standard one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

FHIR_VERSION = "4.0.1"
"""What Strigil claims on the wire: the R4B models it builds with have the R4 shape for every
resource it exports (ADR 0010)."""

ACCEPTED_VERSIONS = ("4.0.0", "4.0.1", "4.3.0")
"""FHIR versions an imported Bundle may declare (R4 and R4B share these resources' shape)."""

VERSION_TAG_SYSTEM = "http://hl7.org/fhir/FHIR-version"

# ------------------------------------------------------------------ standard systems
LOINC = "http://loinc.org"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
CPT = "http://www.ama-assn.org/go/cpt"
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
CONSENT_CATEGORY_LOINC = "59284-0"
ADVERSE_EVENT_SEVERITY = "http://terminology.hl7.org/CodeSystem/adverse-event-severity"
ADVERSE_EVENT_OUTCOME = "http://terminology.hl7.org/CodeSystem/adverse-event-outcome"
LATERALITY_EXTENSION = "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-laterality"

CPT_MANUAL_THERAPY = "97140"
NPRS_LOINC = "72514-3"

LATERALITY = {"left": "7771000", "right": "24028007", "bilateral": "51440002"}
"""SNOMED CT laterality qualifiers (mCODE laterality value set); midline has none."""

# ------------------------------------------------------------------ Strigil's own systems
BASE = "urn:strigil:fhir"


def system(name: str) -> str:
    """The URI of one of Strigil's local code systems, naming systems and extensions."""
    return f"{BASE}:{name}"


PROCEDURE_SYSTEM = system("procedure")
IASTM_CODE = "iastm"
OBSERVATION_SYSTEM = system("observation")
MEASURE_SYSTEM = system("measure")
BODY_SITE_SYSTEM = system("body-site")
BODY_REGION_SYSTEM = system("body-region")
INSTRUMENT_SYSTEM = system("instrument-type")
EXERCISE_SYSTEM = system("exercise")
ADVERSE_EVENT_SYSTEM = system("adverse-event-category")
SKIN_GRADE_SYSTEM = system("skin-response")
TEXTURE_SYSTEM = system("restriction-texture")
RECORD_NUMBER_SYSTEM = system("record-number")
LICENCE_SYSTEM = system("licence")
CREDENTIAL_SYSTEM = system("credential")

READING = "discomfort-reading"
SKIN = "skin-response"
FINDING = "restriction-finding"
MEASUREMENT = "visit-measurement"
OUTCOME = "outcome-score"


def extension_url(name: str) -> str:
    """The URL of a Strigil extension carrying a field FHIR has no element for."""
    return system(f"extension:{name}")


def measure_coding(code: str, loinc: Mapping[str, Any]) -> list[dict[str, str]]:
    """The codings of an outcome score: LOINC when the catalog marks it verified, and always
    Strigil's measure code (so the import knows the measure without a LOINC table)."""
    codings = []
    if loinc.get("verified") and loinc.get("code"):
        codings.append({"system": LOINC, "code": str(loinc["code"])})
    codings.append({"system": MEASURE_SYSTEM, "code": code})
    return codings
