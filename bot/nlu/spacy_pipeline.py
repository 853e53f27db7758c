"""Builds the local spaCy pipeline Rasa's SpacyNLP loads: English tokenizer + lookup lemmatizer.

Pretrained spaCy models cannot be downloaded here, so the pipeline is assembled from `spacy` and the
lemma tables of `spacy-lookups-data`. Word vectors are left out (none can be had offline), so config.yml
uses no SpacyFeaturizer; the lemmas feed the word-level CountVectorsFeaturizer ("offices" = "office").

Usage: python -m bot.nlu.spacy_pipeline OUTPUT_DIR
"""
import sys
from pathlib import Path

import spacy

PIPELINE_NAME = "en_iom_lookup"


def build(output: Path) -> Path:
    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()  # loads the lemma lookup tables from spacy-lookups-data into the pipeline
    nlp.meta.update({"name": PIPELINE_NAME, "version": "1.0.0",
                     "spacy_version": f">={spacy.__version__},<3.5.0",
                     "description": "Blank English tokenizer with lookup lemmatizer (built locally)."})
    output.parent.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(output)
    return output


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    path = build(Path(sys.argv[1]))
    check = spacy.load(path)
    print(f"built spaCy pipeline {path}: {check.pipe_names}; 'offices were established' ->",
          [t.lemma_ for t in check("offices were established")])
