"""Abbreviations: collected from the rendered text, defined from a known list or the study."""

from __future__ import annotations

import re

KNOWN: dict[str, str] = {
    "ADL": "Activities of daily living",
    "AE": "Adverse event",
    "AESI": "Adverse event of special interest",
    "ALT": "Alanine aminotransferase",
    "ANC": "Absolute neutrophil count",
    "AST": "Aspartate aminotransferase",
    "BICR": "Blinded independent central review",
    "BP": "Blood pressure",
    "CDISC": "Clinical Data Interchange Standards Consortium",
    "CI": "Confidence interval",
    "CNS": "Central nervous system",
    "CR": "Complete response",
    "CT": "Computed tomography",
    "CTCAE": "Common Terminology Criteria for Adverse Events",
    "DCR": "Disease control rate",
    "DMC": "Data monitoring committee",
    "DoR": "Duration of response",
    "ECG": "Electrocardiogram",
    "ECOG": "Eastern Cooperative Oncology Group",
    "EDC": "Electronic data capture",
    "EORTC": "European Organisation for Research and Treatment of Cancer",
    "EOT": "End of treatment",
    "GCP": "Good Clinical Practice",
    "HFS": "Hand-foot syndrome",
    "HR": "Hazard ratio",
    "ICH": "International Council for Harmonisation",
    "ILD": "Interstitial lung disease",
    "IMP": "Investigational medicinal product",
    "ITT": "Intention to treat",
    "IV": "Intravenous",
    "LLN": "Lower limit of normal",
    "MedDRA": "Medical Dictionary for Regulatory Activities",
    "MRI": "Magnetic resonance imaging",
    "NCI": "National Cancer Institute (United States)",
    "NIMP": "Non-investigational medicinal product",
    "ORR": "Objective response rate",
    "OS": "Overall survival",
    "PD": "Progressive disease",
    "PFS": "Progression-free survival",
    "PR": "Partial response",
    "QLQ-C30": "Quality of Life Questionnaire - Core 30 (EORTC)",
    "RECIST": "Response Evaluation Criteria in Solid Tumours",
    "SAE": "Serious adverse event",
    "SCLC": "Small cell lung cancer",
    "SD": "Stable disease",
    "SOC": "System organ class (MedDRA)",
    "SoA": "Schedule of activities",
    "SUSAR": "Suspected unexpected serious adverse reaction",
    "TBD": "To be determined",
    "TKI": "Tyrosine kinase inhibitor",
    "ULN": "Upper limit of normal",
    "UGT1A1": "UDP glucuronosyltransferase 1A1",
    "VEGF": "Vascular endothelial growth factor",
    "VEGFR": "Vascular endothelial growth factor receptor",
}

_TOKEN = re.compile(r"(?<![\w-])([A-Za-z][A-Za-z0-9]*(?:-[A-Z0-9]+)*)(?![\w])")


def collect_abbreviations(text: str, study_glossary: tuple[tuple[str, str], ...]) -> list[
        tuple[str, str]]:
    """The known and study-defined abbreviations that occur in ``text``, sorted."""
    plain = text.replace("\\", "")
    words = set(_TOKEN.findall(plain))
    own = dict(study_glossary)
    found = {term: meaning for term, meaning in KNOWN.items() if term in words}
    found.update({term: meaning for term, meaning in own.items()
                  if term in words or term in plain})
    return sorted(found.items(), key=lambda item: item[0].lower())
