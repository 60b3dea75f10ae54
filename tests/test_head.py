"""recommender/head.py: the head on the backbone's sound features, on synthetic features with known answers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

from recommender.backbone import sound_layout, sound_width
from recommender.discriminant import fit_lda
from recommender.errors import ModelError
from recommender.head import BackboneModel
from recommender.head_blocks import block_unit, block_weights, embedding_blocks, pca_mask

WIDTH = sound_width()
GENRES = ["Ambient", "Jazz", "Rock"]


def sound_features(rng, labels: list[str], *, spread: float = 1.0, signal: float = 3.0) -> np.ndarray:
    """Sound-feature rows ``(n, WIDTH)``: noise, plus a direction per genre in a few columns of every block."""
    centres = {g: rng.normal(size=WIDTH) for g in GENRES}
    x = spread * rng.normal(size=(len(labels), WIDTH))
    mask = np.zeros(WIDTH)
    mask[::50] = 1.0  # the genres differ in a sparse set of features, as layers of a real model would
    for i, g in enumerate(labels):
        x[i] += signal * centres[g] * mask
    return x.astype(np.float32)


def precision_at_k(vectors: np.ndarray, labels: np.ndarray, k: int = 5) -> float:
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    sims = unit @ unit.T
    np.fill_diagonal(sims, -np.inf)
    nearest = np.argsort(-sims, axis=1)[:, :k]
    return float(np.mean(labels[nearest] == labels[:, None]))


@pytest.mark.parametrize("n_classes", [2, 4])
def test_lda_probabilities_equal_scikit_learn_for_the_same_shrinkage(rng, n_classes):
    x = rng.normal(size=(120, 15))
    y = np.array([str(i % n_classes) for i in range(120)])
    x[y == "1", :3] += 1.5
    classes = sorted(set(y))
    found = fit_lda(x, y, classes)
    reference = LinearDiscriminantAnalysis(solver="eigen", shrinkage=found.shrinkage).fit(x, y)
    decision = x @ found.coef.T + found.intercept
    proba = np.exp(decision - decision.max(axis=1, keepdims=True))
    proba /= proba.sum(axis=1, keepdims=True)
    assert proba == pytest.approx(reference.predict_proba(x), abs=1e-9)
    assert found.scalings.shape == (15, n_classes - 1)
    # Its first direction separates the classes best (Fisher's ratio), at least as well as scikit-learn's.

    def fisher(direction: np.ndarray) -> float:
        z = x @ direction
        means = np.array([z[y == c].mean() for c in classes])
        within = sum(((z[y == c] - m) ** 2).sum() for c, m in zip(classes, means, strict=True))
        return float(((means - z.mean()) ** 2).sum() * len(z) / len(classes) / within)

    best = fisher(found.scalings[:, 0])
    assert best >= fisher(reference.scalings_[:, 0]) * 0.99
    assert all(best > fisher(d) for d in rng.normal(size=(20, 15)))


def test_blocks_are_standardised_then_of_unit_length(rng):
    columns, blocks = embedding_blocks(("musicnn-msd", "musicnn-mtt"), layout=1)
    assert blocks == [200, 753, 753, 200, 753, 753] and len(columns) == sum(blocks)
    # Layout 2: the rooted blocks and the log-mel statistics; the plain penultimate layers and the tags
    # (what the novelty judgement and the tags read) are not the head's.
    columns, blocks = embedding_blocks(("musicnn-msd", "musicnn-mtt"))
    assert blocks == [753, 753, 753, 753, 200, 200, 96, 96] and len(columns) == sum(blocks)
    assert columns[0] == 200 and 0 not in columns and columns[-1] == WIDTH - 1
    weights = block_weights(("musicnn-msd", "musicnn-mtt"))
    assert weights[:3012].tolist() == [0.5] * 3012 and weights[3012:3412].tolist() == [1.0] * 400
    assert weights[3412:].tolist() == [0.5] * 192
    x = block_unit(rng.normal(size=(3, sum(blocks))) * 50, blocks)
    ends = np.cumsum([0, *blocks])
    norms = [np.linalg.norm(x[:, a:b], axis=1) for a, b in zip(ends[:-1], ends[1:], strict=True)]
    assert np.allclose(norms, 1.0)


def test_with_labels_the_head_separates_genres_classifies_and_round_trips(rng, tmp_path):
    labels = [GENRES[i % 3] for i in range(90)]
    x = sound_features(rng, labels)
    val_labels = [GENRES[i % 3] for i in range(15)]
    val = sound_features(np.random.default_rng(7), val_labels)  # songs the model has not seen
    model = BackboneModel(genres=GENRES, head="lda").fit(x, labels)
    embeddings, proba = model.embed_and_predict_many(x)
    assert model.uses_head_ and model.genres_ == GENRES
    assert embeddings.shape == (90, model.embedding_dim_) and np.allclose(
        np.linalg.norm(embeddings, axis=1), 1
    )
    assert model.embedding_dim_ == min(128, 89) + 2  # PCA part + (genres - 1) discriminant directions
    assert proba.shape == (90, 3) and np.allclose(proba.sum(axis=1), 1)
    assert np.mean(np.array(GENRES)[proba.argmax(axis=1)] == np.array(labels)) > 0.95
    assert precision_at_k(embeddings, np.array(labels)) > 0.95

    model.save(tmp_path, "head")
    meta = json.loads((tmp_path / "head.json").read_text())
    assert meta["arch"] == "musicnn" and meta["head"] == "lda" and meta["genres"] == GENRES
    loaded = BackboneModel.load(tmp_path / "head.keras", meta=meta, genres=GENRES)
    again, proba_again = loaded.embed_and_predict_many(val)
    first, proba_first = model.embed_and_predict_many(val)
    assert again == pytest.approx(first, abs=1e-6) and proba_again == pytest.approx(proba_first, abs=1e-6)
    with pytest.raises(ModelError, match="trained on genres"):
        BackboneModel.load(tmp_path / "head.keras", meta=meta, genres=["Polka", "Yodel"])


def test_without_labels_the_backbone_embedding_alone(rng):
    labels = [GENRES[i % 3] for i in range(60)]
    x = sound_features(rng, labels)
    # These features carry the genres in every block alike: every block weighs the same here.
    model = BackboneModel(genres=["Unknown"], pooled_weight=1.0).fit(x, None)
    embeddings, proba = model.embed_and_predict_many(x)
    assert not model.uses_head_ and model.genres_ == [] and proba.shape == (60, 0)
    assert model.embedding_dim_ == 59  # PCA of 60 songs
    assert (
        precision_at_k(embeddings, np.array(labels)) > 0.6
    )  # chance is 1/3: the structure is heard unlabelled


def test_auto_keeps_the_head_only_where_validation_says_it_helps(rng):
    # Labels that follow the sound: the head helps.
    labels = [GENRES[i % 3] for i in range(90)]
    x = sound_features(rng, labels)
    val_labels = GENRES * 5
    val = x[:15] + 0.3 * rng.normal(size=(15, WIDTH)).astype(np.float32)  # new takes of known songs
    model = BackboneModel(genres=GENRES).fit(x, labels, val_features=val, val_genres=val_labels)
    assert model.uses_head_ and model.validation_["with_head"] >= model.validation_["backbone_only"]


def test_auto_embeds_without_the_head_where_validation_says_it_hurts(rng, monkeypatch):
    labels = [GENRES[i % 3] for i in range(90)]
    x = sound_features(rng, labels)
    monkeypatch.setattr(
        BackboneModel, "_validate", lambda *a, **k: {"with_head": 0.4, "backbone_only": 0.6, "n": 15}
    )
    model = BackboneModel(genres=GENRES).fit(x, labels, val_features=x[:15], val_genres=labels[:15])
    assert not model.uses_head_ and model.genres_ == GENRES  # it still classifies, but embeds without LDA
    assert model.embedding_dim_ == 89
    assert model.embed_and_predict_many(x)[1].shape == (90, 3)


def test_features_of_another_width_are_refused(rng):
    model = BackboneModel(genres=[]).fit(sound_features(rng, GENRES * 4), None)
    with pytest.raises(ModelError, match="sound features have 10 values"):
        model.embed_and_predict_many(np.zeros((2, 10), np.float32))


def _columns_of(part: str) -> np.ndarray:
    """The sound-feature columns of every block named ``part`` (``penultimate``, ``max_pool``…)."""
    ends = np.cumsum([0, *(size for *_, size in sound_layout())])
    return np.concatenate(
        [
            np.arange(a, b)
            for (_, p, _), a, b in zip(sound_layout(), ends[:-1], ends[1:], strict=True)
            if p == part
        ]
    )


@pytest.mark.parametrize("head", ["none", "lda"])
def test_the_pooled_blocks_weigh_what_the_head_was_told(rng, tmp_path, head):
    labels = [GENRES[i % 3] for i in range(90)]
    x = sound_features(rng, labels)
    moved = x.copy()
    pooled = np.concatenate([_columns_of("max_pool_root"), _columns_of("mean_pool_root")])
    moved[:, pooled] += rng.normal(size=(len(x), len(pooled))).astype(np.float32) * 3
    # Weighted 0, the pooled blocks change nothing: the weights are folded into the saved kernels.
    deaf = BackboneModel(genres=GENRES, head=head, pooled_weight=0.0).fit(x, labels)
    first, _ = deaf.embed_and_predict_many(x)
    again, _ = deaf.embed_and_predict_many(moved)
    assert again == pytest.approx(first, abs=1e-5)
    # So are the genre guesses' logits (the probabilities also heed how strange the moved songs are).
    if head == "lda":
        assert deaf._logits(moved) == pytest.approx(deaf._logits(x), abs=1e-4)
    # The default hears them at half the penultimate layer's weight: moved, less than at full weight.
    half = BackboneModel(genres=GENRES, head=head).fit(x, labels)
    full = BackboneModel(genres=GENRES, head=head, pooled_weight=1.0).fit(x, labels)

    def drift(model) -> float:
        return float(
            np.mean(
                np.sum(model.embed_and_predict_many(x)[0] * model.embed_and_predict_many(moved)[0], axis=1)
            )
        )

    assert half.pooled_weight == 0.5 and 0.999 > drift(half) > drift(full)
    if head == "none":  # the saved network is PCA of the weighted blocks, written out: the same neighbours
        pen = half.penultimate_  # without labels, musicnn's own penultimate layer
        columns, blocks = embedding_blocks(half.backbones, penultimate=pen)
        mean, scale = half.model_.get_layer("standardise").get_weights()
        weights = block_weights(half.backbones, 0.5, penultimate=pen)
        weighted = block_unit((moved[:, columns] - mean) / scale, blocks) * weights
        fitted = block_unit((x[:, columns] - mean) / scale, blocks) * weights
        fitted *= pca_mask(half.backbones, penultimate=pen)  # the log-mel statistics are the LDA's only
        _, _, vt = np.linalg.svd(fitted - fitted.mean(axis=0), full_matrices=False)
        by_hand = (weighted - fitted.mean(axis=0)) @ vt[: half.embedding_dim_].T
        by_hand /= np.linalg.norm(by_hand, axis=1, keepdims=True)
        embedded = half.embed_and_predict_many(moved)[0]
        assert embedded @ embedded.T == pytest.approx(by_hand @ by_hand.T, abs=1e-4)
    # The weight is saved with the head, and a head saved before it (no key) weighed every block alike.
    path = half.save(tmp_path, "head")
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["pooled_weight"] == 0.5
    loaded = BackboneModel.load(path, meta=meta, genres=GENRES)
    assert loaded.embed_and_predict_many(moved)[0] == pytest.approx(
        half.embed_and_predict_many(moved)[0], abs=1e-6
    )
    del meta["pooled_weight"]
    assert BackboneModel.load(path, meta=meta, genres=GENRES).pooled_weight == 1.0


def test_the_log_mel_statistics_tell_the_lda_not_the_pca(rng):
    labels = [GENRES[i % 3] for i in range(180)]
    x = sound_features(rng, labels, signal=0.0)  # only the band statistics tell the genres apart
    stats = np.concatenate([_columns_of("band_mean"), _columns_of("band_std")])
    for i, g in enumerate(labels):
        x[i, stats] += GENRES.index(g) - 1.0
    moved = x.copy()
    moved[:, stats] += rng.normal(size=(len(x), len(stats))).astype(np.float32) * 5
    seen, unseen = slice(0, 90), slice(90, 180)
    flat = BackboneModel(genres=[], head="none").fit(x[seen], None)
    # Without labels the embedding does not hear them at all ...
    assert flat.embed_and_predict_many(moved)[0] == pytest.approx(flat.embed_and_predict_many(x)[0], abs=1e-5)
    # ... with labels the LDA part does: songs it has not seen fall in with their genre.
    head = BackboneModel(genres=GENRES, head="lda").fit(x[seen], labels[seen])
    deaf = BackboneModel(genres=GENRES, head="lda").fit(
        np.where(np.isin(np.arange(WIDTH), stats), 0, x)[seen], labels[seen]
    )
    dim = head.embedding_dim_ - 2
    truth = np.array(labels[unseen])
    assert precision_at_k(head.embed_and_predict_many(x[unseen])[0][:, dim:], truth) > 0.85
    assert precision_at_k(deaf.embed_and_predict_many(x[unseen])[0][:, dim:], truth) < 0.6


def test_a_head_saved_before_layouts_reads_layout_1_and_says_so_of_new_features(rng, tmp_path):
    old_width = sound_width(layout=1)
    labels = [GENRES[i % 3] for i in range(60)]
    x = sound_features(rng, labels)[:, :old_width]
    old = BackboneModel(genres=GENRES, head="lda", layout=1).fit(x, labels)
    path = old.save(tmp_path, "old")
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["sound_layout"] == 1
    del meta["sound_layout"]  # as a head saved before layouts
    loaded = BackboneModel.load(path, meta=meta, genres=GENRES)
    assert loaded.layout == 1
    assert loaded.embed_and_predict_many(x)[0] == pytest.approx(old.embed_and_predict_many(x)[0], abs=1e-6)
    with pytest.raises(
        ModelError, match="layout 1, and these features are of layout 2: build the catalog again"
    ):
        loaded.embed_and_predict_many(sound_features(rng, labels))
    meta["sound_layout"] = 9
    with pytest.raises(ModelError, match="layout 9"):
        BackboneModel.load(path, meta=meta, genres=GENRES)


def test_without_labels_the_head_reads_musicnns_own_penultimate_layer_with_labels_the_rooted_one(
    rng, tmp_path
):
    labels = [GENRES[i % 3] for i in range(60)]
    x = sound_features(rng, labels)
    raw, rooted = _columns_of("penultimate"), _columns_of("penultimate_root")
    flat = BackboneModel(genres=[], head="none").fit(x, None)
    labelled = BackboneModel(genres=GENRES, head="lda").fit(x, labels)
    assert (flat.penultimate_, labelled.penultimate_) == ("penultimate", "penultimate_root")
    for model, heard, unheard in ((flat, raw, rooted), (labelled, rooted, raw)):
        before = model.embed_and_predict_many(x)[0]
        for cols, moves in ((heard, True), (unheard, False)):
            moved = x.copy()
            moved[:, cols] += rng.normal(size=(len(x), len(cols))).astype(np.float32) * 3
            changed = not np.allclose(model.embed_and_predict_many(moved)[0], before, atol=1e-4)
            assert changed is moves, (model.penultimate_, moves)
        # Saved and loaded, it reads the same columns.
        path = model.save(tmp_path, model.penultimate_)
        meta = json.loads(path.with_suffix(".json").read_text())
        assert meta["penultimate"] == model.penultimate_
        loaded = BackboneModel.load(path, meta=meta, genres=GENRES if model.genres_ else None)
        assert loaded.embed_and_predict_many(x)[0] == pytest.approx(before, abs=1e-6)
    meta["penultimate"] = "tags"
    with pytest.raises(ModelError, match="reads 'tags' sound features"):
        BackboneModel.load(path, meta=meta, genres=GENRES)


@pytest.mark.parametrize("layout", [1, 2])
def test_an_uploaded_clip_is_heard_in_the_layout_of_its_catalog(rng, tmp_path, layout):
    """A catalog of layout 1 (built before layout 2) hears an upload as it heard its songs, and so does one of 2."""
    from recommender.backbone import SoundConfig, tag_names
    from recommender.clips import listen
    from recommender.config import AudioConfig
    from tests.fixtures import tone, write_audio

    width = sound_width(layout=layout)
    labels = [GENRES[i % 3] for i in range(30)]
    head = BackboneModel(genres=GENRES, head="lda", layout=layout).fit(
        sound_features(rng, labels)[:, :width], labels
    )
    clip = write_audio(tmp_path / "clip.wav", tone(4.0, sr=22_050), 22_050)
    heard = listen(clip, config=AudioConfig(), sound=SoundConfig(layout=layout), model=head)
    assert heard.sound.shape == (width,)
    assert heard.embedding.shape == (head.embedding_dim_,) and np.isclose(
        np.linalg.norm(heard.embedding), 1.0
    )
    assert sorted(heard.genre_probabilities) == GENRES and len(heard.tags) == len(tag_names())
    other = BackboneModel(genres=GENRES, head="lda", layout=3 - layout)
    with pytest.raises(ModelError, match=f"layout {3 - layout}, and these features are of layout {layout}"):
        listen(
            clip,
            config=AudioConfig(),
            sound=SoundConfig(layout=layout),
            model=other.fit(sound_features(rng, labels)[:, : sound_width(layout=3 - layout)], labels),
        )
