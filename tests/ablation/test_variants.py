"""The ablation section: every variant is the run's config plus a curation/mixing overlay; anything that
would change the model, the token budget or the evaluation set is refused in one line naming the key."""
from __future__ import annotations

import pytest

from lmsci import config as C
from lmsci.ablation import variants as V

STRICT = {"gopher_quality": {"min_doc_words": 100}}


def _with(base: dict, variants: dict, **extra) -> dict:
    return {**base, "ablation": {"seeds": [1, 2], "variants": variants, **extra}}


def test_a_variant_is_the_run_config_with_its_overlay(base_dict):
    cfg = C.from_dict(_with(base_dict, {"strict": STRICT, "mix": {"sources": {"crawl": {"weight": 0.6},
                                                                              "code": {"weight": 0.1}}}}))
    built = V.all_configs(cfg)
    assert list(built) == ["baseline", "strict", "mix"]
    assert built["strict"].gopher_quality.min_doc_words == 100
    assert built["strict"].gopher_quality.max_doc_words == cfg.gopher_quality.max_doc_words
    assert built["mix"].sources["crawl"].weight == 0.6 and built["mix"].sources["crawl"].paths == cfg.sources["crawl"].paths
    assert built["baseline"] is cfg


@pytest.mark.parametrize("overlay, key, words", [
    ({"model": {"num_layers": 8}}, "ablation.variants.v.model", "changes the model"),
    ({"train": {"steps": 10}}, "ablation.variants.v.train", "token budget"),
    ({"seed": 7}, "ablation.variants.v.seed", "token budget"),
    ({"evaluate": {"max_tokens": 10}}, "ablation.variants.v.evaluate", "evaluation set"),
    ({"split": {"valid_fraction": 0.2}}, "ablation.variants.v.split", "evaluation set"),
    ({"tokenizer": {"vocab_size": 512}}, "ablation.variants.v.tokenizer", "evaluation set"),
    ({"extract": {"extractor": "trafilatura"}}, "ablation.variants.v.extract", "evaluation set"),
    ({"gopher_quality": {"min_doc_wrds": 3}}, "ablation.variants.v", "unknown config key 'gopher_quality.min_doc_wrds'"),
    ({"bogus": 1}, "ablation.variants.v.bogus", "overlay only"),
    ({"sources": {"crawl": {"paths": ["x.warc.gz"]}}}, "ablation.variants.v.sources.crawl.paths", "weight or filters"),
    ({"sources": {"news": {"weight": 0.1}}}, "ablation.variants.v.sources.news", "not a source"),
    ({"sources": {"crawl": {"weight": 0.9}}}, "ablation.variants.v", "sum to"),
    ({"gopher_quality": {"min_doc_words": 50}}, "ablation.variants.v", "equals baseline"),
    ({"gopher_quality": {"max_symbol_word_ratio": 3.0}}, "ablation.variants.v", "max_symbol_word_ratio"),
])
def test_a_variant_outside_curation_and_mixing_is_refused_naming_the_key(base_dict, overlay, key, words):
    with pytest.raises(C.ConfigError) as err:
        C.from_dict(_with(base_dict, {"v": overlay}))
    line = str(err.value)
    assert "\n" not in line and f"'{key}" in line and words in line, line


@pytest.mark.parametrize("ablation, key", [
    ({"seeds": [1], "variants": {"v": STRICT}}, "ablation.seeds"),
    ({"seeds": [1, 1], "variants": {"v": STRICT}}, "ablation.seeds"),
    ({"seeds": [1, 2], "variants": {}}, "ablation.variants"),
    ({"seeds": [1, 2], "variants": {"../x": STRICT}}, "ablation.variants.../x"),
    ({"seeds": [1, 2], "variants": {"baseline": STRICT}}, "ablation.variants.baseline"),
    ({"seeds": [1, 2], "variants": {"v": {}}}, "ablation.variants.v"),
    ({"seeds": [1, 2], "variants": {"v": ["gopher_quality"]}}, "ablation.variants.v"),
    ({"seeds": [1, 2], "variants": {"v": STRICT}, "eval_fraction": 0.0}, "ablation.eval_fraction"),
    ({"seeds": [1, 2], "variants": {"v": STRICT}, "resamples": 5}, "ablation.resamples"),
])
def test_bad_ablation_sections_fail_in_one_line(base_dict, ablation, key):
    with pytest.raises(C.ConfigError) as err:
        C.from_dict({**base_dict, "ablation": ablation})
    assert f"'{key}" in str(err.value) and "\n" not in str(err.value), str(err.value)


def test_two_identical_variants_are_refused(base_dict):
    with pytest.raises(C.ConfigError, match="equals a's"):
        C.from_dict(_with(base_dict, {"a": STRICT, "b": STRICT}))


def test_a_training_run_keeps_only_its_final_checkpoint_and_its_seed(base_dict):
    cfg = C.from_dict(_with(base_dict, {"strict": STRICT}))
    run = V.seeded(V.all_configs(cfg)["strict"], 2)
    assert run.seed == 2 and run.train.checkpoint_log_max == 0 and run.train.checkpoint_interval == 0
    assert (run.train.steps, run.train.global_batch_size, run.model) == (cfg.train.steps, cfg.train.global_batch_size,
                                                                       cfg.model)


def test_the_committed_ablation_configs_load(repo):
    cfg = C.load(repo / "config.yaml", repo / "configs/ablation.yaml", root=repo)
    assert len(cfg.ablation.variants) >= 3 and len(cfg.ablation.seeds) >= 2
    tiny = C.load(repo / "config.yaml", repo / "configs/tiny.yaml", repo / "configs/ablation-tiny.yaml", root=repo)
    assert "code_only" in tiny.ablation.variants
