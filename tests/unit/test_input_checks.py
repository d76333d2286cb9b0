"""Bad inputs are rejected where they are read, naming the file and record (benchmark records,
robustness texts) or the config key (checks the schema cannot express)."""

import copy
import json
from pathlib import Path

import pytest
import yaml

from dsl_llada.config import ConfigError, validate_config
from helpers import fill_schema_defaults, robustness_settings
from dsl_llada.pipeline import eval_robustness
from dsl_llada.records import RecordError, load_records
from dsl_llada.tables import StageError

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "config/schema/config.schema.yaml"
GOOD = {"id": "a", "source": "some text .", "reference": "w1 w2", "prompt": "Summarize : some text ."}


@pytest.mark.parametrize(
    "records, message",
    [
        ([GOOD, dict(GOOD, reference="w3")], "record 1 repeats id 'a' of record 0"),
        ([dict(GOOD, id=7), dict(GOOD, id="7")], "record 1 repeats id '7'"),  # one sample key str(id)
        ([GOOD, ["not", "an", "object"]], "record 1 is a JSON list, expected an object"),
        ([GOOD, "text"], "record 1 is a JSON str"),
        ([dict(GOOD, source="  ")], "record 0 (id a) has an empty 'source'"),
        ([dict(GOOD, id=None)], "record 0 has id None"),
        ([dict(GOOD, id=True)], "record 0 has id True"),
        ([], "holds no records"),
    ],
)
def test_bad_benchmark_records_name_file_and_record(tmp_path, records, message):
    path = tmp_path / "xsum.json"
    path.write_text(json.dumps(records))
    with pytest.raises(RecordError) as err:
        load_records(path)
    assert message in str(err.value) and str(path) in str(err.value), str(err.value)


def test_records_without_source_are_accepted(tmp_path):
    path = tmp_path / "r.json"
    path.write_text(json.dumps([{k: v for k, v in GOOD.items() if k != "source"}]))
    assert load_records(path)[0]["id"] == "a"


@pytest.mark.parametrize(
    "texts, message",
    [
        ([{"id": 0, "text": "a b"}, {"id": 1}], "record id 1 has no field 'text'"),
        ([{"id": "zero", "text": "a b"}], "record id 'zero' field 'id' is str, expected int"),
        ([{"id": 0, "text": "a"}, {"id": 0, "text": "b"}], "duplicate record id 0"),
        ([{"id": 0, "text": "   "}], "record id 0 field 'text' is empty"),
        ([{"id": 0, "text": "a", "tokens": [1, "x"], "n_tokens": 2}], "field 'tokens' must be a list"),
        ([{"id": 0, "text": "a", "tokens": [1, 2], "n_tokens": 3}], "'n_tokens' is 3 but 'tokens' has 2"),
        ({"id": 0}, "expected a non-empty JSON list"),
        ([3], "record 0 is a int, expected an object"),
    ],
)
def test_bad_robustness_texts_name_file_and_record(tmp_path, texts, message):
    path = tmp_path / "texts.json"
    path.write_text(json.dumps(texts))
    cfg = robustness_settings(random_rates=[0.1])
    with pytest.raises(StageError) as err:  # checked before the model is even loaded
        eval_robustness(tmp_path / "no_model", path, cfg, tmp_path / "out.json")
    assert message in str(err.value) and str(path) in str(err.value), str(err.value)
    assert not (tmp_path / "out.json").exists()


def test_robustness_tokens_and_id_range_must_fit_the_vocabulary(tmp_path, tiny_backbone):
    tiny_backbone.save(tmp_path / "model")
    vocab = len(tiny_backbone.tokenizer)
    texts = tmp_path / "texts.json"
    texts.write_text(json.dumps([{"id": 0, "text": "w1 w2", "tokens": [10, vocab + 5], "n_tokens": 2}]))
    with pytest.raises(StageError, match=f"record id 0 has token id {vocab + 5}, outside"):
        eval_robustness(tmp_path / "model", texts, robustness_settings(random_rates=[0.1]), tmp_path / "o.json")
    texts.write_text(json.dumps([{"id": 0, "text": "w1 w2 w3"}]))
    with pytest.raises(StageError, match="robustness.id_range: .* beyond the model's vocabulary"):
        cfg = robustness_settings(random_rates=[0.1], id_range=[10, 126000])
        eval_robustness(tmp_path / "model", texts, cfg, tmp_path / "o.json")
    out = eval_robustness(tmp_path / "model", texts, robustness_settings(random_rates=[0.5]), tmp_path / "o.json")
    assert out["rows"][0]["n"] == 1  # toy-style {id, text} records still work


def _toy():
    return yaml.safe_load((REPO / "config/config.yaml").read_text())


def _with(cfg, dotted, value):
    cfg = copy.deepcopy(cfg)
    node = cfg
    *path, last = dotted.split(".")
    for key in path:
        node = node[key]
    node[last] = value
    return cfg


SEMANTIC = [
    # (key, value, key the error names, reason fragment)
    ("sampling", None, "sampling", "is empty (every key commented out?)"),
    ("cpt.train", None, "cpt.train", "is empty"),
    ("benchmarks.names", ["xsum", "billsum"], "benchmarks.names.1", "'billsum' is not a benchmark of the toy world"),
    ("pretrain_base.train.micro_batch", 3, "pretrain_base.train.global_batch", "not divisible by micro_batch x gpus"),
    ("robustness.id_range", [126000, 100], "robustness.id_range", "reversed bounds?"),
    ("robustness.id_range", [-1, 100], "robustness.id_range", "0 <= low"),
    ("models.base.arch.num_heads", 5, "models.base.arch.hidden_size", "must be num_heads (5)"),
    ("models.base.arch.max_positions", 128, "pretrain_base.seq_len", "exceed models.base.arch.max_positions"),
    ("models.base.arch", {"hidden_size": 32}, "models.base.arch.intermediate_size", "required"),
]


@pytest.mark.parametrize("key, value, names, reason", SEMANTIC)
def test_semantic_config_errors_name_the_key(key, value, names, reason):
    with pytest.raises(ConfigError) as err:
        validate_config(_with(_toy(), key, value), SCHEMA, fill_defaults=fill_schema_defaults)
    assert names in str(err.value) and reason in str(err.value), str(err.value)


def test_the_shipped_configs_pass_the_semantic_checks():
    validate_config(_toy(), SCHEMA, fill_defaults=fill_schema_defaults)
    smoke = yaml.safe_load((REPO / "config/presets/smoke.yaml").read_text())
    merged = _toy()
    for section, value in smoke.items():
        if isinstance(value, dict):
            for k, v in value.items():
                merged[section][k] = dict(merged[section].get(k) or {}, **v) if isinstance(v, dict) else v
        else:
            merged[section] = value
    validate_config(merged, SCHEMA, fill_defaults=fill_schema_defaults)


def test_paper_corpus_must_cover_every_step():
    paper = _with(_toy(), "models.base", {"source": "local", "path": str(REPO), "family": "llada"})
    paper = _with(paper, "cpt.data", {"source": "fineweb", "block_size": 256, "n_blocks": 100})
    with pytest.raises(ConfigError, match=r"cpt.data.n_blocks: 100 blocks are fewer than .* = 1920"):
        validate_config(paper, SCHEMA, fill_defaults=fill_schema_defaults)


def test_token_dataset_with_mismatched_arrays_is_named(tmp_path):
    import numpy as np

    from dsl_llada.data import DataError, TokenDataset, write_token_dataset

    ids = np.zeros((4, 8), dtype=np.int32)
    write_token_dataset(tmp_path / "d", ids, np.ones((4, 7), dtype=bool), {})
    with pytest.raises(DataError, match=r"maskable.npy: shape \(4, 7\) differs from input_ids.npy \(4, 8\)"):
        TokenDataset(tmp_path / "d")


def test_score_samples_names_a_row_without_id(tmp_path):
    from dsl_llada.tables import score_samples

    records = tmp_path / "r.json"
    records.write_text(json.dumps([GOOD]))
    shard = tmp_path / "shard0of1.jsonl"
    shard.write_text('{"text": "w1"}\n')
    with pytest.raises(StageError, match=r"shard0of1.jsonl: line 1 is not a sample row with an 'id'"):
        score_samples([str(shard)], records, {}, tmp_path / "o.json", tmp_path / "o.csv", {})


def test_decay_longer_than_the_run_is_named_before_any_job():
    """pretrain_base.train.decay_steps past steps - warmup_steps fails in the config check, not
    minutes later inside the training job."""
    import yaml

    from dsl_llada.config import ConfigError, _check_train_section

    train = yaml.safe_load("train: {steps: 2, global_batch: 8, micro_batch: 8, warmup_steps: 1, decay_steps: 5}")
    with pytest.raises(
        ConfigError, match=r"pretrain_base\.train\.decay_steps: 5 must be in 0\.\.steps - warmup_steps = 1"
    ):
        _check_train_section("pretrain_base", train, 1)


def test_warmup_longer_than_the_run_is_named_as_warmup():
    """An overlay that shortens steps below the preset's warmup is told about warmup_steps, not
    about a negative room for decay_steps."""
    import yaml

    from dsl_llada.config import ConfigError, _check_train_section

    train = yaml.safe_load("train: {steps: 1, global_batch: 8, micro_batch: 8, warmup_steps: 100}")
    with pytest.raises(ConfigError, match=r"cpt\.train\.warmup_steps: 100 must be in 0\.\.steps = 1"):
        _check_train_section("cpt", train, 1)
