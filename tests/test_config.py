"""lmsci/config.py: loading, overlays, one-line errors that name the key, schema drift, slices."""
from __future__ import annotations

import json

import pytest

from lmsci import config
from lmsci.config import ConfigError


def _one_line_error(data, root=None) -> str:
    with pytest.raises(ConfigError) as e:
        config.from_dict(data, root=root)
    msg = str(e.value)
    assert "\n" not in msg, msg
    return msg


def test_committed_config_and_tiny_overlay_load(repo):
    base = config.load(repo / "config.yaml", root=repo)
    tiny = config.load(repo / "config.yaml", repo / "configs" / "tiny.yaml", root=repo)
    base_yaml = config.read_yaml(repo / "config.yaml")
    tiny_yaml = config.read_yaml(repo / "configs" / "tiny.yaml")
    assert base.run == base_yaml["run"] and tiny.run == tiny_yaml["run"] != base.run
    # The overlay replaces only what it names, section by section.
    assert tiny.sources["crawl"].paths == tiny_yaml["sources"]["crawl"]["paths"]
    assert tiny.sources["crawl"].weight == base.sources["crawl"].weight
    assert tiny.sources["crawl"].filters == base.sources["crawl"].filters
    assert tiny.model.hidden_size == tiny_yaml["model"]["hidden_size"]
    assert tiny.model.tie_embeddings == base.model.tie_embeddings
    assert tiny.sources["wiki"] == base.sources["wiki"]
    assert tiny.gopher_quality == base.gopher_quality


def test_defaults_fill_omitted_optional_keys(base_dict):
    del base_dict["train"]["log_interval"]
    del base_dict["sources"]["code"]["filters"]
    cfg = config.from_dict(base_dict)
    assert cfg.train.log_interval == config.TrainConfig.__dataclass_fields__["log_interval"].default
    assert cfg.sources["code"].filters == []


def test_int_accepted_where_float_expected(base_dict):
    base_dict["train"]["lr"] = 1
    cfg = config.from_dict(base_dict)
    assert isinstance(cfg.train.lr, float) and cfg.train.lr == 1.0


def test_committed_schema_matches_generated():
    committed = json.loads(config.SCHEMA_PATH.read_text())
    assert committed == config.json_schema(), "run `make schema` and commit workflow/schemas/config.schema.json"


def test_schema_accepts_committed_config_and_rejects_unknown_key(base_dict):
    import jsonschema

    schema = config.json_schema()
    jsonschema.validate(base_dict, schema)
    base_dict["model"]["dropout"] = 0.1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(base_dict, schema)


@pytest.mark.parametrize("section, key", [(None, "seed"), ("model", "num_layers"), ("train", "steps")])
def test_missing_required_key_is_named(base_dict, section, key):
    del (base_dict[section] if section else base_dict)[key]
    full = f"{section}.{key}" if section else key
    msg = _one_line_error(base_dict)
    assert f"'{full}'" in msg and "missing" in msg


@pytest.mark.parametrize("section, key", [(None, "epochs"), ("model", "dropout"), ("gopher_quality", "max_words")])
def test_unknown_key_is_named(base_dict, section, key):
    (base_dict[section] if section else base_dict)[key] = 1
    full = f"{section}.{key}" if section else key
    msg = _one_line_error(base_dict)
    assert f"'{full}'" in msg and "unknown" in msg


def _set(path: str, value):
    def apply(d):
        *parents, last = path.split(".")
        for p in parents:
            d = d[p]
        d[last] = value
    return apply


def _rename_source(d):
    d["sources"]["my-crawl"] = d["sources"].pop("crawl")


def _zero_weight(d):
    d["sources"]["crawl"]["weight"] = 0.0
    d["sources"]["wiki"]["weight"] = 0.8


MALFORMED = [
    # (id, mutation, the key the message must name)
    ("seed_is_str", _set("seed", "1234"), "seed"),
    ("run_is_int", _set("run", 7), "run"),
    ("weights_do_not_sum_to_1", _set("sources.crawl.weight", 0.6), "sources.*.weight"),
    ("zero_weight", _zero_weight, "sources.crawl.weight"),
    ("negative_max_bytes", _set("extract.max_bytes", -1), "extract.max_bytes"),
    ("zero_seq_length", _set("model.seq_length", 0), "model.seq_length"),
    ("heads_do_not_divide_hidden", _set("model.num_attention_heads", 7), "model.num_attention_heads"),
    ("groups_do_not_divide_heads", _set("model.num_query_groups", 3), "model.num_query_groups"),
    ("unknown_filter", _set("sources.crawl.filters", ["langid", "perplexity"]), "sources.crawl.filters"),
    ("unknown_kind", _set("sources.crawl.kind", "csv"), "sources.crawl.kind"),
    ("paths_not_a_list", _set("sources.wiki.paths", "data/x.jsonl.gz"), "sources.wiki.paths"),
    ("empty_paths", _set("sources.wiki.paths", []), "sources.wiki.paths"),
    ("duplicate_shard_names", _set("sources.wiki.paths", ["a/x.jsonl.gz", "b/x.jsonl.gz"]), "sources.wiki.paths"),
    ("no_sources", _set("sources", {}), "sources"),
    ("source_name_not_identifier", _rename_source, "sources.my-crawl"),
    ("tp_does_not_divide_groups", _set("train.tensor_parallel", 3), "train.tensor_parallel"),
    ("layers_not_divisible_by_pp", _set("train.pipeline_parallel", 3), "train.pipeline_parallel"),
    ("global_batch_not_multiple", _set("train.global_batch_size", 12), "train.global_batch_size"),
    ("warmup_equals_steps", _set("train.warmup_steps", 300), "train.warmup_steps"),
    ("negative_warmup", _set("train.warmup_steps", -1), "train.warmup_steps"),
    ("lr_is_str", _set("train.lr", "fast"), "train.lr"),
    ("valid_fraction_is_1", _set("split.valid_fraction", 1.0), "split.valid_fraction"),
    ("valid_fraction_is_0", _set("split.valid_fraction", 0.0), "split.valid_fraction"),
    ("threshold_above_1", _set("langid.threshold", 1.5), "langid.threshold"),
    ("vocab_below_bytes", _set("tokenizer.vocab_size", 200), "tokenizer.vocab_size"),
    ("bool_for_int", _set("model.num_layers", True), "model.num_layers"),
    ("float_for_int", _set("gopher_quality.min_doc_words", 50.5), "gopher_quality.min_doc_words"),
    ("str_for_bool", _set("extract.main_content", "yes"), "extract.main_content"),
    ("section_not_a_mapping", _set("dedup", True), "dedup"),
    ("min_lr_ratio_above_1", _set("train.min_lr_ratio", 2.0), "train.min_lr_ratio"),
]


@pytest.mark.parametrize("mutate, key", [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_malformed_config_names_the_key(base_dict, mutate, key):
    mutate(base_dict)
    msg = _one_line_error(base_dict)
    assert f"'{key}" in msg, msg


def test_missing_file_is_named_only_when_root_given(base_dict, repo):
    base_dict["sources"]["wiki"]["paths"] = ["data/sample/wiki/nope-00000.jsonl.gz"]
    config.from_dict(base_dict)  # no root: no file checks
    msg = _one_line_error(base_dict, root=repo)
    assert "'sources.wiki.paths'" in msg and "nope-00000.jsonl.gz" in msg


def test_top_level_not_a_mapping():
    with pytest.raises(ConfigError):
        config.from_dict(["run"])


def test_read_yaml_errors_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match="absent.yaml"):
        config.read_yaml(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    with pytest.raises(ConfigError, match="bad.yaml") as e:
        config.read_yaml(bad)
    assert "\n" not in str(e.value)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert config.read_yaml(empty) == {}


def test_merge_is_recursive_and_later_wins():
    a = {"x": 1, "s": {"a": 1, "b": {"c": 1, "d": 2}}, "l": [1, 2]}
    b = {"s": {"b": {"c": 9}}, "l": [3], "y": 2}
    assert config.merge(a, b) == {"x": 1, "s": {"a": 1, "b": {"c": 9, "d": 2}}, "l": [3], "y": 2}
    assert a["s"]["b"]["c"] == 1  # inputs untouched


@pytest.mark.parametrize("keys", [("model",), ("model", "train"), ("sources", "extract", "gopher_quality", "langid")])
def test_slice_round_trip(cfg, keys):
    blob = config.slice_json(cfg, *keys)
    assert config.parse_slice(blob) == {k: getattr(cfg, k) for k in keys}
    assert json.loads(blob) == {k: config.to_dict(getattr(cfg, k)) for k in keys}


def test_slice_is_canonical(cfg, base_dict):
    # Key order in the YAML must not change the slice (Snakemake reruns on any change of it).
    reordered = {k: base_dict[k] for k in reversed(list(base_dict))}
    reordered["model"] = {k: base_dict["model"][k] for k in reversed(list(base_dict["model"]))}
    assert config.slice_json(config.from_dict(reordered), "model") == config.slice_json(cfg, "model")


def test_parse_slice_rejects_bad_input(cfg):
    with pytest.raises(ConfigError, match="not valid JSON"):
        config.parse_slice("{model:")
    with pytest.raises(ConfigError, match="'bogus'"):
        config.parse_slice('{"bogus": {}}')
    blob = json.loads(config.slice_json(cfg, "model"))
    blob["model"]["hidden_size"] = "wide"
    with pytest.raises(ConfigError, match="'model.hidden_size'"):
        config.parse_slice(json.dumps(blob))


def test_digest_tracks_content(cfg, base_dict):
    assert config.digest(cfg.model) == config.digest(config.from_dict(base_dict).model)
    base_dict["model"]["rotary_base"] = 500_000
    assert config.digest(config.from_dict(base_dict).model) != config.digest(cfg.model)
    assert len(config.digest(cfg)) == 16


@pytest.mark.parametrize("section, key, value, named", [
    ("langid", "thresholds", {"de": 1.5}, "langid.thresholds.de"),
    ("pii", "types", ["email", "ssn"], "pii.types"),
    ("minhash", "permutations", 100, "minhash.permutations"),  # not a multiple of 14 bands
    ("minhash", "threshold", 2.0, "minhash.threshold"),
])
def test_curation_settings_are_checked(base_dict, section, key, value, named):
    base_dict[section][key] = value
    assert f"'{named}'" in _one_line_error(base_dict)


def test_curation_sections_default_when_omitted(base_dict):
    for section in ("gopher_repetition", "c4", "fineweb", "pii", "minhash"):
        del base_dict[section]
    del base_dict["langid"]["thresholds"]
    cfg = config.from_dict(base_dict)
    assert cfg.minhash == config.MinHashConfig() and cfg.langid.thresholds == {}


def test_measure_json_holds_langid_languages_only_when_langid_comes_first(cfg):
    import dataclasses

    first = json.loads(config.measure_json(cfg, ["langid", "gopher_quality"]))
    assert first == {"langid": {"languages": ["en"]}, "gopher_quality": {"impl": "datatrove"}}
    assert "langid" not in json.loads(config.measure_json(cfg, ["gopher_quality", "langid"]))
    # a threshold is what `filter` decides with: changing it keeps tag's key (no re-measuring)
    looser = dataclasses.replace(cfg, langid=dataclasses.replace(cfg.langid, threshold=0.3, thresholds={"en": 0.2}))
    assert config.measure_json(looser, ["langid", "c4"]) == config.measure_json(cfg, ["langid", "c4"])
    other = dataclasses.replace(cfg, langid=dataclasses.replace(cfg.langid, languages=["en", "de"]))
    assert config.measure_json(other, ["langid", "c4"]) != config.measure_json(cfg, ["langid", "c4"])
    assert config.parse_slice(config.measure_json(other, ["langid"]))["langid"].languages == ["en", "de"]
