"""Model: how well the CNN hears genres, how it learned, and training or loading another one."""

import streamlit as st

from pages import _common
from recommender import plots
from recommender.build import build
from recommender.model import ARCHS

_common.ensure_routed(__file__)

st.title(":material/model_training: Model")
st.caption(
    "The CNN learns genres from log-mel slices; its penultimate layer is the song embedding that "
    "finds similar songs. Metrics are on the test split, which the model never saw while training."
)
_common.show_flash()
cat = _common.require_catalog()


def run_build(options) -> None:
    progress = _common.StreamlitProgress()
    build(options, home=cat.paths.home, progress=progress)
    progress.finish()
    progress.show_notes()
    _common.invalidate()


if cat.model_info:
    with _common.user_errors():
        m = _common.metrics(cat)
        c, r = m["classifier"], m["retrieval"]
        model = cat.model_info
        cols = st.columns(4)
        test_acc, val_acc = c.get("test_accuracy"), c.get("val_accuracy")
        cols[0].metric("Test accuracy", f"{test_acc:.1%}" if test_acc is not None else "—")
        cols[1].metric("Validation accuracy", f"{val_acc:.1%}" if val_acc is not None else "—")
        cols[2].metric("Test songs", c.get("n_test", 0))
        cols[3].metric(
            "Architecture", model["arch"], help=f"{model['embedding_dim']}-d embeddings · {model['name']}"
        )

        st.subheader("Do a song's neighbours share its genre?")
        st.caption(
            "Genre precision of the 10 nearest songs, for the CNN embedding against a classic MFCC baseline "
            "and random picks: how much listening with the CNN adds."
        )
        st.plotly_chart(plots.retrieval_figure(r), key="model_retrieval")

        st.subheader("Training")
        st.plotly_chart(plots.training_curves_figure(cat.training_history()), key="model_curves")

        left, right = st.columns(2)
        with left:
            st.subheader("Confusion matrix")
            st.plotly_chart(plots.confusion_figure(c["confusion"], c["genres"]), key="model_confusion")
        with right:
            st.subheader("Accuracy per genre")
            st.plotly_chart(
                plots.per_genre_accuracy_figure(c["per_genre"], colors=_common.colors(cat)),
                key="model_per_genre",
            )
else:
    st.info("This catalog has no model yet: train one below.")

st.divider()
train_tab, load_tab = st.tabs(["Train a new model", "Use a saved model"])
with train_tab:
    st.caption(
        "Trains on this catalog's training split, then embeds every song and rebuilds the map, the index "
        "and the evaluation. Features are cached, so only the model's own stages run again."
    )
    with st.form("model_train_form"):
        cols = st.columns(2)
        arch = cols[0].selectbox("Architecture", ARCHS, key="model_arch", help="cnn1d is fast on CPUs")
        epochs = cols[1].number_input("Epochs", min_value=1, max_value=200, value=30, key="model_epochs")
        train = st.form_submit_button(
            "Train", type="primary", icon=":material/play_arrow:", key="model_train"
        )
    if train:
        with _common.user_errors():
            run_build(cat.rebuild_options(arch=arch, epochs=int(epochs), model=None, no_train=False))
            _common.flash("The new model is trained and the catalog rebuilt with it.")
            st.rerun()

with load_tab:
    st.caption(
        "A model must come with its .json description (audio settings and genres) and match this catalog."
    )
    saved = cat.saved_models()
    choice = st.selectbox("Saved models", saved, index=None, key="model_saved", placeholder="Choose a model")
    files = st.file_uploader(
        "…or upload a .keras file and its .json", type=["keras", "json"], accept_multiple_files=True,
        key="model_upload",
    )  # fmt: skip
    if st.button("Use this model", key="model_use", disabled=not (choice or files)):
        with _common.user_errors():
            path = (
                cat.import_model({f.name: f.getvalue() for f in files}) if files else cat.model_path(choice)
            )
            run_build(cat.rebuild_options(model=path, no_train=True))
            _common.flash(f"The catalog now uses model {_common.md(path.stem)}.")
            st.rerun()
