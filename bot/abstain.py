"""Deciding from retrieval evidence whether the articles hold an answer at all."""

from __future__ import annotations

from dataclasses import dataclass

from retrieval.evidence import Evidence


@dataclass(frozen=True)
class AbstainRule:
    """Answer when the combined evidence reaches ``threshold``."""

    threshold: float = 0.47
    semantic_weight: float = 0.5
    max_unknown: int = 0

    def abstain(self, evidence: Evidence | None) -> bool:
        """Whether to say the articles don't cover the question."""
        if evidence is None:
            return True
        if self.max_unknown and evidence.unknown >= self.max_unknown:
            return True
        return evidence.strength(self.semantic_weight) < self.threshold
