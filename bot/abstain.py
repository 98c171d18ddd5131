"""Deciding from retrieval evidence whether the articles hold an answer at all."""

from __future__ import annotations

from dataclasses import dataclass

from retrieval.evidence import Evidence


@dataclass(frozen=True)
class AbstainRule:
    """Answer when the combined evidence reaches ``threshold`` (``answer.abstain_threshold``);
    also abstain when ``max_unknown`` (``answer.abstain_unknown_words``; 0: never) question
    words appear in no passage, or, with ``unknown_attribute``
    (``answer.abstain_unknown_attribute``), when the attribute asked about does."""

    threshold: float
    max_unknown: int
    unknown_attribute: bool
    semantic_weight: float = 0.5

    def abstain(self, evidence: Evidence | None) -> bool:
        """Whether to say the articles don't cover the question."""
        if evidence is None:
            return True
        if self.unknown_attribute and evidence.unknown_attribute:
            return True
        if self.max_unknown and evidence.unknown >= self.max_unknown:
            return True
        return evidence.strength(self.semantic_weight) < self.threshold
