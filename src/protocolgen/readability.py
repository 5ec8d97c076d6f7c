"""Readability of plain-language text: Flesch–Kincaid grade per section, hardest sentences.

Uses the ``readability`` package (offline, no corpora to download) on sentences we split
ourselves; markdown syntax is stripped first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")
_WORD = re.compile(r"[A-Za-z0-9]+(?:['’-][A-Za-z0-9]+)*")


@dataclass(frozen=True)
class SectionScore:
    title: str
    grade: float  # Flesch–Kincaid grade
    words: int
    sentences: int
    hardest: tuple[tuple[float, str], ...]  # (grade, sentence), hardest first

    @property
    def words_per_sentence(self) -> float:
        return self.words / self.sentences if self.sentences else 0.0


def plain_text(markdown: str) -> str:
    """Markdown → text: escapes, emphasis, table pipes and list marks removed; each list
    item ends as a sentence."""
    lines = []
    for line in markdown.splitlines():
        if line.startswith(": "):  # a table caption
            continue
        item = re.match(r"^\s*[-+]\s+(.*)$", line)
        text = item.group(1) if item else line
        text = re.sub(r"\\(.)", r"\1", text)
        text = re.sub(r"[*_`#>|]", " ", text).strip()
        if item and text and text[-1] not in ".!?:":
            text += "."
        lines.append(text)
    return re.sub(r"\s+", " ", " ".join(lines)).strip()


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if _WORD.search(s)]


def fk_grade(sentences: list[str]) -> float:
    """Flesch–Kincaid grade level of the sentences."""
    import readability  # only when checking readability

    if not sentences:
        return 0.0
    tokenized = "\n".join(" ".join(_WORD.findall(s)) for s in sentences) + "\n"
    return float(readability.getmeasures(tokenized, lang="en")["readability grades"]["Kincaid"])


def score_sections(markdown: str) -> list[SectionScore]:
    """Score each ``## `` section of a markdown document (tables and signatures skipped)."""
    scores = []
    for block in re.split(r"^## ", markdown, flags=re.MULTILINE)[1:]:
        title, _, body = block.partition("\n")
        body = "\n".join(line for line in body.splitlines()
                         if not line.lstrip().startswith("|") and not line.startswith("###"))
        sentences = split_sentences(plain_text(body))
        if not sentences:
            continue
        hardest = sorted(((fk_grade([s]), s) for s in sentences), reverse=True)[:3]
        words = sum(len(_WORD.findall(s)) for s in sentences)
        scores.append(SectionScore(title.strip(), round(fk_grade(sentences), 1), words,
                                   len(sentences),
                                   tuple((round(g, 1), s) for g, s in hardest)))
    return scores
