"""`python -m bot.train [rasa train options]`: `rasa train`, with the encoding of the training examples started
first (what `make train` runs).

Why: a cold training spends most of its time encoding the examples for the EmbeddingIntentClassifier
(bot/nlu/parallel_encoding.py), while Rasa spends its first 30 s validating the data and building its graph on
one core. Inside `rasa train`, the pipeline's TrainingEncodingPrefetcher can start the encoding only once the
graph runs; here it starts as soon as the training data is read, beside Rasa's own start, on the other core.
The examples are read through the same importer `rasa train` uses, so the texts are the same; whatever the
background encoding does not cover is encoded by the classifier itself. Only when the pipeline has the
prefetcher (a pipeline without the encoder, such as the stock one `make bench` trains, encodes nothing).
"""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional

PREFETCHER = "TrainingEncodingPrefetcher"


def start_encoding(config: str, domain: str, data: List[str]) -> int:
    """Starts the background encoding of the examples `rasa train --config config --data data` will train on,
    when the config's pipeline has the prefetcher (with its encoder); returns how many texts it encodes."""
    from rasa.shared.importers.importer import TrainingDataImporter
    from rasa.shared.utils.io import read_config_file

    from bot.nlu.embedding_intent_classifier import EmbeddingCache, TrainingEncodingPrefetcher, training_texts
    try:
        component = next((c for c in read_config_file(config).get("pipeline") or []
                          if str(c.get("name", "")).split(".")[-1] == PREFETCHER), None)
        if component is None:
            return 0
        encoder = {**TrainingEncodingPrefetcher.get_default_config(), **component}["encoder"]
        examples = training_texts(TrainingDataImporter.load_from_config(config, domain, data).get_nlu_data())
    except Exception:  # noqa: BLE001 - unreadable config or data: `rasa train` reports it next, in its own words
        return 0
    return EmbeddingCache(encoder).start(examples)


def main(argv: Optional[List[str]] = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    from rasa.shared.constants import DEFAULT_CONFIG_PATH, DEFAULT_DATA_PATH, DEFAULT_DOMAIN_PATH
    known = argparse.ArgumentParser(add_help=False)  # the options of `rasa train` that say what it reads
    known.add_argument("-c", "--config", default=DEFAULT_CONFIG_PATH)
    known.add_argument("-d", "--domain", default=DEFAULT_DOMAIN_PATH)
    known.add_argument("--data", nargs="+", default=[DEFAULT_DATA_PATH])
    known.add_argument("-h", "--help", "--dry-run", action="store_true", dest="no_training")
    paths, rest = known.parse_known_args(argv)
    nothing_to_encode = paths.no_training or (rest[:1] == ["core"])  # a help text, a dry run, dialogue only
    started = 0 if nothing_to_encode else start_encoding(paths.config, paths.domain, paths.data)
    if started:
        print(f"Encoding {started} training examples in the background while Rasa starts.", file=sys.stderr,
              flush=True)
    from rasa.__main__ import main as rasa_main
    sys.argv = ["rasa", "train", *argv]
    rasa_main()  # exits with rasa's own exit code


if __name__ == "__main__":
    main()
