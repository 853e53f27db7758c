"""Compares NLU pipeline variants on the development sets, each lever alone (issue 11's "what moved them").

    python -m tools.pipelines                 # every variant
    python -m tools.pipelines --only no-diet  # some of them

A variant is config.yml with some components removed or re-set (`VARIANTS`). Each is trained into
var/pipelines/<name>/ (reused while config, data and bot/nlu are unchanged), then measured on:
- tests/nlu_holdout.yml (English, intent-labelled; 98 questions): raw intent accuracy, and as served (under the
  variant's fallback threshold) in-scope answered right and out-of-scope rejected;
- the development conversation sets tests/dev_cases.yml and ../shared/eval/dev_cases_multilingual.yml through
  a served bot (tools/evaluate.py), per category.
The held-out sets (tests/heldout/) are deliberately not used here: choosing among variants is tuning.
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import json
import subprocess
import time
import uuid
from pathlib import Path
from typing import Callable, Dict, List

import yaml

from bot import servers
from bot.settings import ROOT
from tools.evaluate import CASES_FILE, evaluate

WORK = ROOT / "var" / "pipelines"
DEV_SETS = [CASES_FILE, ROOT.parent / "shared" / "eval" / "dev_cases_multilingual.yml"]
HOLDOUT = ROOT / "tests" / "nlu_holdout.yml"
ENCODER = "bot.nlu.embedding_intent_classifier.EmbeddingIntentClassifier"
TFIDF = "bot.nlu.tfidf_intent_classifier.TfidfIntentClassifier"


def drop(*names: str) -> Callable[[List[dict]], List[dict]]:
    return lambda pipeline: [c for c in pipeline if c["name"].split(".")[-1] not in names]


def setting(name: str, **values) -> Callable[[List[dict]], List[dict]]:
    return lambda pipeline: [{**c, **values} if c["name"].endswith(name) else c for c in pipeline]


def chain(*steps: Callable[[List[dict]], List[dict]]) -> Callable[[List[dict]], List[dict]]:
    def apply(pipeline: List[dict]) -> List[dict]:
        for step in steps:
            pipeline = step(pipeline)
        return pipeline
    return apply


# The bag-of-words DIET setup the assistant used before the encoder (DIET averaged with TF-IDF).
DIET = [{"name": "LexicalSyntacticFeaturizer"}, {"name": "CountVectorsFeaturizer"},
        {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4},
        {"name": "DIETClassifier", "epochs": 60, "entity_recognition": False, "number_of_transformer_layers": 0,
         "constrain_similarities": True, "random_seed": 42}]


def with_diet(pipeline: List[dict]) -> List[dict]:
    """DIET before the TF-IDF classifier, which then averages with DIET's ranking."""
    at = next(i for i, c in enumerate(pipeline) if c["name"].endswith("TfidfIntentClassifier"))
    return [*pipeline[:at], *copy.deepcopy(DIET), {**pipeline[at], "blend_with_previous": 0.5}, *pipeline[at + 1:]]


VARIANTS: Dict[str, Callable[[List[dict]], List[dict]]] = {
    "as configured": lambda p: p,
    "no encoder (TF-IDF only)": drop("TrainingEncodingPrefetcher", "EmbeddingIntentClassifier"),
    "no encoder, with DIET (the pipeline before)": chain(drop("TrainingEncodingPrefetcher",
                                                              "EmbeddingIntentClassifier"), with_diet),
    "encoder on every message (no cascade)": setting("EmbeddingIntentClassifier", skip_above=1.01),
    "encoder only": chain(drop("TfidfIntentClassifier"),
                          setting("EmbeddingIntentClassifier", blend_with_previous=0.0, skip_above=1.01)),
    "with DIET too": with_diet,
}


def variant_config(name: str) -> dict:
    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    config = copy.deepcopy(config)
    config["pipeline"] = VARIANTS[name](config["pipeline"])
    return config


def inputs_key(config: dict) -> str:
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode())
    for path in [ROOT / "domain.yml", *sorted((ROOT / "data").rglob("*.yml")),
                 *sorted((ROOT / "bot" / "nlu").glob("*.py"))]:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def train(name: str, env: Dict[str, str]) -> Path:
    directory = WORK / name.replace(" ", "_").replace("(", "").replace(")", "").replace(",", "")
    directory.mkdir(parents=True, exist_ok=True)
    config = variant_config(name)
    (directory / "config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    model, record = directory / "model.tar.gz", directory / "trained.json"
    key = inputs_key(config)
    if model.exists() and record.exists() and json.loads(record.read_text())["key"] == key:
        print(f"[{name}] model unchanged (trained in {json.loads(record.read_text())['train_s']:.0f} s)", flush=True)
        return directory
    print(f"[{name}] training ...", flush=True)
    started = time.perf_counter()
    subprocess.run([str(servers.VENV_BIN / "rasa"), "train", "--config", str(directory / "config.yml"), "--out",
                    str(directory), "--fixed-model-name", "model", "--force"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    record.write_text(json.dumps({"key": key, "train_s": time.perf_counter() - started}))
    return directory


def holdout_scores(directory: Path, env: Dict[str, str]) -> Dict[str, float]:
    out = directory / "nlu-test"
    subprocess.run([str(servers.VENV_BIN / "rasa"), "test", "nlu", "--model", str(directory / "model.tar.gz"),
                    "--nlu", str(HOLDOUT), "--out", str(out), "--successes"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    predictions = [*json.loads((out / "intent_successes.json").read_text()),
                   *json.loads((out / "intent_errors.json").read_text())]
    threshold = next(float(c["threshold"]) for c in yaml.safe_load((directory / "config.yml").read_text())["pipeline"]
                     if c["name"].endswith("FallbackClassifier"))
    served = [p["intent_prediction"]["name"] if p["intent_prediction"]["confidence"] >= threshold else "nlu_fallback"
              for p in predictions]
    expected = [p["intent"] for p in predictions]
    pairs = list(zip(served, expected, strict=True))
    in_scope = [s == e for s, e in pairs if e != "out_of_scope"]
    rejected = [s in ("out_of_scope", "nlu_fallback") for s, e in pairs if e == "out_of_scope"]
    return {"accuracy": sum(p["intent_prediction"]["name"] == p["intent"] for p in predictions) / len(predictions),
            "in_scope_right": sum(in_scope) / len(in_scope), "out_of_scope_rejected": sum(rejected) / len(rejected)}


def served_scores(directory: Path, env: Dict[str, str]) -> Dict[str, float]:
    env = {**env, "RASA_PORT": str(servers.free_port()), "MODEL": str(directory / "model.tar.gz"),
           "TRACKER_DB": str(directory / f"tracker-{uuid.uuid4().hex[:6]}.db")}
    with open(directory / "server.log", "wb") as log:
        rasa = servers.start(servers.rasa_command(env), env, stdout=log, stderr=subprocess.STDOUT)
        try:
            servers.wait_http(servers.rasa_health_url(env), servers.RASA_START_TIMEOUT_S, rasa)
            report = evaluate(f"http://127.0.0.1:{env['RASA_PORT']}", [f for f in DEV_SETS if f.exists()])
        finally:
            servers.stop(rasa)
    (directory / "dev-misses.txt").write_text(report.render())
    return {category: report.score(category) for category in report.by_category()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=list(VARIANTS))
    args = parser.parse_args()
    env = servers.environment({"ACTION_PORT": str(servers.free_port()), "CLIENT_MESSAGES_PER_MINUTE": "0",
                               "CONVERSATION_MESSAGES_PER_MINUTE": "0"})
    results: Dict[str, Dict[str, float]] = {}
    with open(WORK.parent / "pipelines-actions.log", "wb") as log:
        WORK.mkdir(parents=True, exist_ok=True)
        actions = servers.start(servers.action_server_command(env), env, stdout=log, stderr=subprocess.STDOUT)
        try:
            servers.wait_http(servers.action_health_url(env), servers.ACTIONS_START_TIMEOUT_S, actions)
            for name in args.only or list(VARIANTS):
                directory = train(name, env)
                results[name] = {**holdout_scores(directory, env), **served_scores(directory, env),
                                 "train_s": json.loads((directory / "trained.json").read_text())["train_s"]}
                print(f"[{name}] {json.dumps({k: round(v, 3) for k, v in results[name].items()})}", flush=True)
        finally:
            servers.stop(actions)
    columns = sorted({k for r in results.values() for k in r})
    print("\n| variant | " + " | ".join(columns) + " |\n|---|" + "---|" * len(columns))
    for name, r in results.items():
        print(f"| {name} | " + " | ".join(f"{r.get(c, float('nan')):.3f}" for c in columns) + " |")
    (WORK / "results.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
