"""Model: how well the catalog's model hears, every way of listening side by side, and another model."""

import streamlit as st

from pages import _access, _build, _cache, _require, _routing, _text
from recommender import jobs, listeners, plots
from recommender.intervals import too_small_message
from recommender.model_files import model_description

_routing.ensure_routed(__file__)


st.title(":material/model_training: Model")
st.caption(
    "The model listens to each song and turns it into an embedding: songs whose embeddings are close sound "
    "alike. The default is a CNN pretrained on real music (musicnn) with a light head fitted on this "
    "catalog's genres; CNNs trained from scratch are kept for comparison. Metrics are on the test split, "
    "which no model saw while learning."
)
_text.show_flash()
_build.show_outcome()
cat = _require.require_catalog()


def _across_albums(retrieval: dict) -> None:
    """Every way of listening side by side, its neighbours from any album and from other albums only."""
    rows = [
        {
            "Way of listening": plots.retrieval_label(name),
            "Genre precision@10": v.get("genre_precision_at_10"),
            "Other albums only": v.get("cross_album_precision_at_10"),
        }
        for name, v in retrieval.items()
        if v.get("cross_album_precision_at_10") is not None
    ]
    if rows:
        st.caption(
            "The same, and over neighbours from other albums only: does a way hear the genre across albums, "
            "or mostly the album's own sound?"
        )
        st.dataframe(rows, hide_index=True, key="model_across_albums")


if _build.running():
    _build.show_running(key="model")


if cat.model_info:
    with _text.user_errors():
        m = _cache.metrics(cat)
        model = cat.model_info
        st.markdown(f"**In use:** {_text.md(model_description(model))}")
        if m.get("note"):
            st.info(
                f"{_text.md(m['note'].capitalize())}. Neighbours come from the backbone's embedding; "
                "with genre labels (a folder per genre, or genre tags) a head would be fitted and measured.",
                icon=":material/info:",
            )
        c, r = m.get("classifier") or {}, m.get("retrieval") or {}
        cols = st.columns(4)
        test_acc, val_acc = c.get("test_accuracy"), c.get("val_accuracy")
        cols[0].metric("Test accuracy", f"{test_acc:.1%}" if test_acc is not None else "—")
        cols[1].metric("Validation accuracy", f"{val_acc:.1%}" if val_acc is not None else "—")
        cols[2].metric("Test songs", c.get("n_test", 0))
        cols[3].metric(
            "Architecture", model["arch"], help=f"{model['embedding_dim']}-d embeddings · {model['name']}"
        )
        if c.get("test_interval"):
            low, high = c["test_interval"]
            st.caption(
                f"Test accuracy rests on {c.get('n_test', 0)} test songs: the true accuracy lies between "
                f"{low:.0%} and {high:.0%} (95 % Wilson interval)."
            )
        caveat = too_small_message(m)
        if caveat:
            st.warning(caveat, icon=":material/warning:")

        if r:
            st.subheader("Do a song's neighbours share its genre?")
            st.caption(
                "Genre precision of the 10 nearest songs of each test song, for every way of listening: the "
                "model in use, the pretrained backbone alone and with its head, a CNN trained from scratch "
                "(when one was trained on this catalog), a classic MFCC baseline and random picks."
            )
            st.plotly_chart(plots.retrieval_figure(r), key="model_retrieval")
            ranges = [
                f"{_text.md(plots.retrieval_label(name))} {low:.2f}–{high:.2f}"
                for name, v in r.items()
                if v.get("interval")
                for low, high in [v["interval"]]
            ]
            if ranges:
                n = next(iter(r.values())).get("n", 0)
                st.caption(f"95 % ranges over the {n} test songs: " + " · ".join(ranges))
            _across_albums(r)
        if m.get("classifiers"):
            accuracies = {
                plots.retrieval_label(name): f"{v['test_accuracy']:.1%}"
                for name, v in m["classifiers"].items()
                if v.get("test_accuracy") is not None
            }
            st.caption(
                "Genre accuracy on the test songs: "
                + " · ".join(f"{_text.md(k)} {v}" for k, v in accuracies.items())
            )

        history = cat.training_history()
        if len(history):
            st.subheader("Training")
            st.plotly_chart(plots.training_curves_figure(history), key="model_curves")

        if c:
            left, right = st.columns(2)
            with left:
                st.subheader("Confusion matrix")
                st.plotly_chart(plots.confusion_figure(c["confusion"], c["genres"]), key="model_confusion")
            with right:
                st.subheader("Accuracy per genre")
                st.plotly_chart(
                    plots.per_genre_accuracy_figure(c["per_genre"], colors=_cache.colors(cat)),
                    key="model_per_genre",
                )
else:
    st.info("This catalog has no model yet" + (": build one below." if _access.is_owner() else "."))

st.divider()
if not _access.is_owner():
    _access.owner_only("build or load another model")
    st.stop()
if _build.running():
    st.caption("A build is running: a new model can be chosen when it has finished.")
    st.stop()
train_tab, load_tab = st.tabs(["Build a new model", "Use a saved model"])
with train_tab:
    st.caption(
        "Listens to this catalog again with the chosen model, then embeds every song and rebuilds the map, the "
        "index and the evaluation. Features are cached, so only the model's own stages run again."
    )
    with st.form("model_train_form"):
        cols = st.columns(2)
        archs = listeners.labels()
        arch = cols[0].selectbox(
            "Model", list(archs), format_func=archs.get, key="model_arch",
            help="The pretrained backbone needs no labels and knows real music; from-scratch CNNs need genres.",
        )  # fmt: skip
        epochs = cols[1].number_input(
            "Epochs (from scratch only)", min_value=1, max_value=200, value=30, key="model_epochs"
        )
        train = st.form_submit_button(
            "Build", type="primary", icon=":material/play_arrow:", key="model_train"
        )
    if train:
        with _text.user_errors():
            jobs.start(cat.rebuild_options(arch=arch, epochs=int(epochs), model=None, no_train=False))
            st.rerun()

with load_tab:
    st.caption(
        "A model must come with its .json description (what it was made for) and match this catalog's genres."
    )
    saved = cat.saved_models()
    choice = st.selectbox("Saved models", saved, index=None, key="model_saved", placeholder="Choose a model")
    files = st.file_uploader(
        "…or upload a .keras file and its .json", type=["keras", "json"], accept_multiple_files=True,
        key="model_upload",
    )  # fmt: skip
    if st.button("Use this model", key="model_use", disabled=not (choice or files)):
        with _text.user_errors():
            path = (
                cat.import_model({f.name: f.getvalue() for f in files}) if files else cat.model_path(choice)
            )
            jobs.start(cat.rebuild_options(model=path, no_train=True))
            st.rerun()
