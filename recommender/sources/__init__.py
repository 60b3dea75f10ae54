"""Catalog sources: demo (synthesised), fma (Free Music Archive), folder (any tree)."""

from recommender.sources.base import SPLITS, SourceReport, Track

__all__ = ["SPLITS", "SourceReport", "Track"]
