"""A music recommender that listens: audio → log-mel → CNN embedding → Ball-tree neighbours."""

from recommender.errors import RecommenderError

__all__ = ["RecommenderError"]
__version__ = "0.1.0"
