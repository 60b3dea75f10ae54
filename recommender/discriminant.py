"""The head's discriminant: a shrinkage LDA of the standardised blocks, and the calibration of its probabilities.

Plain numpy and scipy, fitted on the training split (``fit_lda``) and the validation split
(``fit_temperature``); the head (``recommender.head``) saves what they fit as Keras layers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of ``(n, g)`` logits, stable for large values."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


TEMPERATURES = np.geomspace(1.0, 1000.0, 121)


def fit_temperature(logits: np.ndarray, classes: Sequence[str], labels: Sequence[str]) -> float:
    """The temperature ``T >= 1`` whose ``softmax(logits / T)`` has the least log-loss on ``labels``.

    Temperature scaling (Guo et al. 2017), fitted on the validation split. ``T`` is never
    below 1: a linear head fitted on a few songs per genre is overconfident, never timid,
    and a validation split it classifies perfectly would otherwise push ``T`` towards 0.
    """
    index = {c: i for i, c in enumerate(classes)}
    known = [(row, index[g]) for row, g in enumerate(labels) if g in index]
    if not known or len(classes) < 2:
        return 1.0
    rows, targets = (np.array(v) for v in zip(*known, strict=True))
    losses = []
    for t in TEMPERATURES:
        z = logits[rows] / t
        z = z - z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        losses.append(-float(log_p[np.arange(len(rows)), targets].mean()))
    return round(float(TEMPERATURES[int(np.argmin(losses))]), 4)


@dataclass(frozen=True)
class Discriminant:
    """A fitted linear discriminant: ``scalings`` ``(d, g - 1)``, ``centre`` ``(d,)``, ``coef`` ``(g, d)``,
    ``intercept`` ``(g,)``, and the Ledoit-Wolf ``shrinkage`` it used."""

    scalings: np.ndarray
    centre: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    shrinkage: float


def fit_lda(x: np.ndarray, labels: np.ndarray, classes: Sequence[str]) -> Discriminant:
    """Shrinkage LDA of ``x`` ``(n, d)`` with ``labels`` ``(n,)`` over ``classes``.

    The model of scikit-learn's ``LinearDiscriminantAnalysis(solver="eigen")`` with a
    Ledoit-Wolf shrinkage of the pooled within-class covariance ``Sw`` (for the same
    shrinkage its probabilities are equal, tested), solved in the ``g``-dimensional
    space the class means span: one Cholesky factorisation of ``Sw`` and a ``g × g``
    eigenproblem instead of scikit-learn's generalised ``d × d`` one, which took 30–40 s
    at the backbone's 3 012 features on two cores (this takes about a second).
    Directions are ``Sw``-orthonormal, largest between-class variance first.
    """
    from scipy import linalg
    from sklearn.covariance import ledoit_wolf_shrinkage

    x = np.asarray(x, dtype=np.float64)
    n, d = x.shape
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[str(label)] for label in labels])
    counts = np.bincount(y, minlength=len(classes))
    priors = counts / n
    means = np.stack([x[y == i].mean(axis=0) for i in range(len(classes))])
    within = x - means[y]
    # A floor keeps Sw invertible when features are constant (dead units) or songs few.
    shrinkage = float(np.clip(ledoit_wolf_shrinkage(within, assume_centered=True), 1e-3, 1.0))
    scatter = within.T @ within / n
    sw = (1.0 - shrinkage) * scatter
    sw[np.diag_indices(d)] += shrinkage * max(float(np.trace(scatter)) / d, 1e-12)
    factor = linalg.cho_factor(sw)
    coef = linalg.cho_solve(factor, means.T).T
    intercept = -0.5 * np.sum(means * coef, axis=1) + np.log(priors)
    centre = priors @ means
    between = np.sqrt(priors)[:, None] * (means - centre)  # Sb = betweenᵀ between
    solved = linalg.cho_solve(factor, between.T)  # Sw⁻¹ betweenᵀ, (d, g)
    values, vectors = linalg.eigh(between @ solved)
    top = np.argsort(values)[::-1][: len(classes) - 1]
    scalings = solved @ vectors[:, top] / np.sqrt(np.maximum(values[top], 1e-300))
    return Discriminant(scalings, centre, coef, intercept, shrinkage)
