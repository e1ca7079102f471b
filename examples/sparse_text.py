"""Text classification on sparse input
====================================

``TfidfVectorizer`` -> ``MLPClassifier`` with on-line training
(``batch_size=1``), the CSR matrix going to the compiled kernels as it is (never
densified).

The corpus is made up here (no download): documents on four topics, mostly common
words plus a few topic words and many rare tokens, so the vocabulary is large and
each row has few non-zeros, as with real text. Run it as a script::

    python examples/sparse_text.py
    python examples/sparse_text.py --docs 4000    # quicker, less accurate
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from fastsgd import MLPClassifier

TOPICS = {
    "sport": "match goal team season coach league player score win referee stadium",
    "space": "orbit rocket launch planet star galaxy telescope astronaut moon comet",
    "cooking": "recipe oven flour butter sugar bake dough sauce garlic simmer",
    "finance": "market stock bond interest rate inflation bank loan equity dividend",
}
COMMON = (
    "the a of and to in is it that for on with as was this be at by from or an "
    "have not are but had they which one you were all we there can been has more"
).split()


def make_corpus(n_docs, n_rare=20_000, words=60, seed=0):
    """Documents and their topic labels."""
    rng = np.random.RandomState(seed)
    topics = list(TOPICS)
    topic_words = {t: TOPICS[t].split() for t in topics}
    rare = np.array([f"w{i}" for i in range(n_rare)])
    docs, labels = [], rng.randint(len(topics), size=n_docs)
    for label in labels:
        own = topic_words[topics[label]]
        other = topic_words[topics[rng.randint(len(topics))]]
        doc = list(rng.choice(COMMON, words))
        doc += list(rng.choice(own, 2)) + list(rng.choice(other, 3))
        doc += list(rare[rng.zipf(1.3, size=20) % n_rare])
        docs.append(" ".join(doc))
    return docs, np.array(topics)[labels]


def main(argv=None):
    parser = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("--docs", type=int, default=10_000)
    args = parser.parse_args(argv)
    docs, labels = make_corpus(args.docs)
    docs_train, docs_test, y_train, y_test = train_test_split(
        docs, labels, test_size=0.2, random_state=0
    )
    model = make_pipeline(
        TfidfVectorizer(sublinear_tf=True),
        MLPClassifier(
            hidden_layer_sizes=(64,),
            solver="sgd",
            momentum=0.0,  # with alpha=0: each step touches only the rows of its words
            alpha=0.0,
            batch_size=1,
            learning_rate_init=0.05,
            max_iter=10,
            random_state=0,
        ),
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 10 epochs is the plan
        model.fit(docs_train, y_train)
    seconds = time.perf_counter() - start
    X = model[0].transform(docs_train)
    print(
        f"{X.shape[0]:,} documents x {X.shape[1]:,} terms, "
        f"{X.nnz / X.shape[0]:.0f} non-zeros per row ({type(X).__name__})"
    )
    epochs = model[-1].history_
    print(
        f"fit: {seconds:.2f} s, of which {len(epochs)} on-line epochs "
        f"{sum(r['seconds'] for r in epochs):.2f} s"
    )
    accuracy = model.score(docs_test, y_test)
    print(f"test accuracy: {accuracy:.3f}")
    return {"accuracy": accuracy, "n_features": X.shape[1]}


if __name__ == "__main__":
    main()
