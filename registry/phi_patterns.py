"""What an identifier looks like: the RE2 patterns of the PHI scan (registry/phi.py).

Each kind of HIPAA Safe Harbor identifier is one RE2 pattern (DuckDB ``regexp_matches``), its
flags scoped to itself (``(?i:...)``) so that the patterns can be joined into :data:`ANY`, which
matches a cell exactly when one of them does: the scan tests every cell against :data:`ANY` in
one pass and names the kinds only for the cells it matched. No cell is skipped.

Before matching, :data:`CLINICAL_QUANTITY` blanks numbers followed by a clinical unit
("1200000 copies/mL", "5000 units", "250000 /uL"), so that a lab value is not an MRN.

Measured on tests/data/phi_corpus (see bench/bench_phi.py and tests/test_phi_corpus.py).
Libraries measured on the same corpus and not used: Presidio's pattern recognizers
(presidio-analyzer 2.2.366) import spaCy at import time (about 390 MB installed) and find no
obfuscated e-mail, titled name or named ZIP code; ``phonenumbers`` is measured in the bench
against the phone pattern below.
"""

from __future__ import annotations

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_DAY = r"(?:0?[1-9]|[12][0-9]|3[01])"
_MONTH_NUM = r"(?:0?[1-9]|1[0-2])"
_STREET = (
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl"
    r"|Terrace|Way|Circle|Parkway|Pkwy|Highway|Hwy|Square|Sq|Trail|Close|Crescent|Gardens|Kingsway)"
)
_TLD = r"(?:com|org|net|edu|gov|mil|int|io|info|biz|uk|us|ca|de|fr|nl|ch|au|ie|es|it|se|no|dk|be|at|nz|in)"
_AT = r"(?:\s*[(\[{]\s*at\s*[)\]}]\s*|\s+at\s+|@)"
_DOT = r"(?:\s*[(\[{]\s*dot\s*[)\]}]\s*|\s+dot\s+|\.)"
_CAPWORD = r"[A-Z][a-zA-Z'’-]+"
_PARTICLE = r"(?:(?:van|von|de|der|del|da|di|du|le|la|al|bin|ten)\s+)"
_CREDENTIAL = r"(?:MD|M\.D\.|RN|NP|PA-C|PhD|Ph\.D\.|PharmD|DDS|DMD|LCSW|LPN|MBBS|FRCP|MRCP|APRN|CNS|PsyD)"
_AGE = r"(?:9[0-9]|1[01][0-9])"
_STATE = (
    r"(?:A[KLRZ]|C[AOT]|D[CE]|FL|GA|HI|I[ADLN]|K[SY]|LA|M[ADEINOST]|N[CDEHJMVY]"
    r"|O[HKR]|PA|RI|S[CD]|T[NX]|UT|V[AT]|W[AIVY])"
)


def _any_of(*alternatives: str) -> str:
    return "|".join(f"(?:{a})" for a in alternatives)


#: Kind -> RE2 pattern, in the order hits are reported.
PATTERNS: dict[str, str] = {
    "email": _any_of(
        r"(?i:[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,})",
        # obfuscated: "jdoe at gmail dot com", "jane (at) hospital (dot) org", "m.khan[at]clinic[dot]net"
        rf"(?i:\b[a-z0-9._%+-]+{_AT}[a-z0-9-]+(?:{_DOT}[a-z0-9-]+)*{_DOT}{_TLD}\b)",
    ),
    "url": _any_of(
        r"(?i:\b(?:https?|s?ftp)://[^\s]+)",
        r"(?i:\bwww\.[^\s]+)",
        rf"(?i:(?:^|[^@a-z0-9._%+-])[a-z0-9-]+(?:\.[a-z0-9-]+)*\.{_TLD}\b)",
    ),
    "ip_address": _any_of(
        r"\b(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}\b",
        r"(?i:\b(?:[0-9a-f]{1,4}:){1,7}:(?:[0-9a-f]{1,4})?|\b(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b)",
    ),
    "ssn": _any_of(
        r"\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b|\b[0-9]{3} [0-9]{2} [0-9]{4}\b",
        r"(?i:\b(?:ssn|ss ?#|ss no\.?|social security(?: number| no\.?| #)?)\W{0,3}[0-9])",
    ),
    "fax": r"(?i:\bfax(?:ed)?\b(?:\s+(?:no\.?|number|to|#))?\W{0,3}\+?[0-9(])",
    "phone": _any_of(
        r"(?:\+?\b1[\s.-]?)?(?:\([0-9]{3}\)\s?|\b[0-9]{3}[\s.-])[0-9]{3}[\s.-][0-9]{4}\b",
        r"\b[0-9]{3}-[0-9]{4}\b",
        r"\+[0-9]{1,3}(?:[\s.-]?\(?[0-9]{1,5}\)?){2,5}",
        r"\b0[0-9]{2,4}[\s-][0-9]{3,4}[\s-]?[0-9]{3,4}\b",
        r"(?i:\b(?:tel|phone|telephone|cell|mobile|pager|contact number|phone no\.?|number is)\b\W{0,3}\+?[0-9(])",
    ),
    "mrn": _any_of(
        r"\b[0-9]{7,}\b",
        r"(?i:\b(?:mrn|medical record(?: number| no\.?| #)?|chart(?: number| no\.?| #| id)?|hospital (?:number|no\.?)"
        r"|record (?:number|no\.?|#)|patient id|nhs (?:number|no\.?)|account(?: number| no\.?| #)"
        r"|(?:health plan )?beneficiary(?: number| id)?|member id|insurance (?:id|number|no\.?)"
        r"|medicare(?: number| no\.?| id)?|medicaid(?: number| no\.?| id)?|policy (?:number|no\.?))"
        r"\W{0,3}[a-z]{0,4}[\s-]?[0-9])",
        r"(?i:\b(?:id|number|no|#)[.:#\s]{0,3}[a-z]{0,3}-?[0-9]{5,})",
    ),
    "street_address": _any_of(
        rf"\b[0-9]{{1,6}}[A-Za-z]?\s+(?:[NSEW]\.?\s+)?(?:[A-Z][A-Za-z'.-]*\s+){{1,3}}{_STREET}\b",
        rf"(?i:\b[0-9]+(?:st|nd|rd|th)\s+{_STREET}\b)",
        r"(?i:\bp\.?\s?o\.?\s+box\s+[0-9])",
        r"(?i:\b(?:lives|living|resides|residing|address|moved|staying) (?:at|to|on|is) [0-9]{1,6}[a-z]?\s+[a-z])",
    ),
    "zip_code": _any_of(
        r"\b[0-9]{5}-[0-9]{4}\b",
        rf"\b{_STATE},?\s+[0-9]{{5}}\b",
        r"(?i:\b(?:zip|zip ?code|postal code|post ?code)\W{0,3}"
        r"(?:[0-9]{5}|[a-z]{1,2}[0-9][a-z0-9]?\s*[0-9][a-z]{2})\b)",
        r"\b[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}\b",
    ),
    "age_over_89": _any_of(
        rf"(?i:\b{_AGE}[\s-]*(?:years?[\s-]*old|y/?o|yrs?[\s-]*old)\b)",
        rf"(?i:\baged?:?\s+{_AGE}(?:[^+0-9]|$))",
        rf"(?i:\b{_AGE}\s+years? of age\b)",
    ),
    "date": _any_of(
        r"\b(?:19|20)[0-9]{2}[-/.]" + _MONTH_NUM + r"[-/.]" + _DAY + r"\b",
        r"\b" + _DAY + r"[-/.]" + _DAY + r"[-/.](?:19|20)?[0-9]{2}\b",
        r"\b" + _MONTH + r"\.?\s+" + _DAY + r"(?:st|nd|rd|th)?\b",
        r"\b" + _DAY + r"(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MONTH + r"\b",
        r"(?i:\b(?:dob|d\.o\.b\.?|date of birth|born)\W{0,3}[0-9])",
    ),
    "name": _any_of(
        # a title before a capitalised name: "Dr. Smith", "Mrs. Garcia-Lopez", "Dr. van der Berg"
        rf"\b(?:Dr|Mr|Mrs|Ms|Miss|Mx|Prof|Rev)\.?\s+(?:[A-Z]\.\s*)*{_PARTICLE}*{_CAPWORD}",
        # a credential after a name: "John Smith, MD", "J. Peterson, MD", "Ahmed Hassan MD"
        rf"\b[A-Z](?:[a-zA-Z'’-]+|\.)(?:\s+{_PARTICLE}*[A-Z](?:[a-zA-Z'’-]+|\.))+,?\s+{_CREDENTIAL}\b",
        rf"\b{_CAPWORD},\s+(?:{_CREDENTIAL}|DO|PA)(?:\s*$|\s*[,.;)])",
        r"(?i:\bname\s*(?:is\s+|:\s*))[A-Z][a-z]+",
    ),
    "vehicle": _any_of(
        r"\b[A-HJ-NPR-Z0-9]{17}\b",
        r"(?i:\b(?:vin|vehicle identification number|licen[cs]e plate|number plate|plate (?:no\.?|number|#)"
        r"|registration(?: number| no\.?)?|reg\.? no\.?)\W{0,3}[a-z0-9])",
    ),
    "device": r"(?i:\b(?:serial(?: no\.?| number| #)?|s/n|sn ?#|device id|imei|udi)\W{0,3}[a-z0-9(])",
    "license": (
        r"(?i:\b(?:licen[cs]e(?: no\.?| number| #)?|driver'?s licen[cs]e|passport(?: no\.?| number| #)?"
        r"|dea(?: no\.?| number| #)?|npi|certificate(?: no\.?| number| #))\W{0,3}[a-z]{0,2}[0-9])"
    ),
    "biometric": r"(?i:\b(?:finger ?prints?|retinal? scans?|iris scans?|voice ?prints?|face ?prints?)\b)",
    "photo": _any_of(
        r"(?i:\b[\w-]+\.(?:jpe?g|png|gif|heic|bmp|tiff?)\b)",
        r"(?i:\bfull[- ]face (?:photo|photograph|image|picture)s?\b)",
    ),
}

#: Matches a cell exactly when one of :data:`PATTERNS` does.
ANY = _any_of(*PATTERNS.values())

#: A number followed by a clinical unit, blanked before matching ("1200000 copies/mL").
CLINICAL_QUANTITY = (
    r"(?i:\b[0-9][0-9,.]*\s*(?:x\s*10\^?[0-9]+\s*)?(?:copies|cells|iu|units?|u/l|mg|mcg|ug|ng|pg|g/dl|g/l"
    r"|mmol|umol|meq|ml|steps|kcal)\b|\b[0-9][0-9,.]*\s*/\s*(?:u|mc|m)?l\b|\b[0-9][0-9,.]*\s*/\s*mm3\b)"
)
