"""Sharing: a variant reads the baseline's output of every stage whose config (and upstream) it leaves alone."""
from __future__ import annotations

from types import SimpleNamespace

from lmsci import config as C
from lmsci.ablation import plan, wiring

NO_QUALITY = ["langid", "gopher_quality", "gopher_repetition", "c4", "fineweb"]


def _cfg(base: dict, variants: dict) -> C.Config:
    return C.from_dict({**base, "ablation": {"seeds": [1, 2], "variants": variants}})


def test_a_threshold_only_variant_owns_filter_and_what_follows_never_tag(base_dict):
    cfg = _cfg(base_dict, {"strict": {"gopher_quality": {"min_doc_words": 100}}})
    assert plan.owner(cfg, "strict", "quality") == "baseline"
    assert plan.owner(cfg, "strict", "tag", "crawl") == "baseline"
    for stage in ("filter", "pii", "dedup", "minhash", "tokens"):
        assert plan.owner(cfg, "strict", stage, "crawl") == "strict", stage
        assert plan.owner(cfg, "strict", stage, "wiki") == "baseline", stage  # wiki has no gopher filter
    assert plan.owner(cfg, "strict", "mix") == "strict"
    assert plan.where(cfg, "strict", "tag", "crawl") == cfg.results
    assert plan.where(cfg, "strict", "filter", "crawl") == f"{cfg.results}/ablation/strict/data"


def test_an_impl_change_is_measuring_so_it_reruns_tag(base_dict):
    cfg = _cfg(base_dict, {"paper": {"gopher_quality": {"impl": "paper"}}})
    assert plan.owner(cfg, "paper", "tag", "crawl") == "paper"
    assert plan.owner(cfg, "paper", "tag", "wiki") == "baseline"


def test_a_weight_only_variant_shares_every_token_shard_and_owns_its_blend(base_dict):
    cfg = _cfg(base_dict, {"mix": {"sources": {"crawl": {"weight": 0.6}, "code": {"weight": 0.1}}}})
    for s in cfg.sources:
        assert plan.owner(cfg, "mix", "tokens", s) == "baseline"
    assert plan.owner(cfg, "mix", "mix") == "mix"


def test_dedup_changes_share_curation_up_to_pii(base_dict):
    cfg = _cfg(base_dict, {"nomh": {"minhash": {"enabled": False}}})
    for s in cfg.sources:
        assert plan.owner(cfg, "nomh", "dedup", s) == "baseline"
        assert plan.owner(cfg, "nomh", "minhash", s) == "nomh"


def test_dropping_the_quality_filter_retags_only_the_crawl_and_needs_no_classifier_of_its_own(base_dict):
    cfg = _cfg(base_dict, {"noq": {"sources": {"crawl": {"filters": NO_QUALITY}}}})
    assert plan.owner(cfg, "noq", "tag", "crawl") == "noq"
    assert plan.owner(cfg, "noq", "tag", "wiki") == "baseline"
    w = SimpleNamespace(variant="noq", source="crawl", shard="shard-00000")
    assert set(wiring.tag_inputs(cfg, w)) == {"docs"}  # no classifier to train or read
    assert wiring.tag_inputs(cfg, w)["docs"] == f"{cfg.results}/extract/crawl/shard-00000.parquet"


def test_two_variants_with_the_same_stage_share_the_first_ones_output(base_dict):
    cfg = _cfg(base_dict, {"a": {"gopher_quality": {"min_doc_words": 100}},
                           "b": {"gopher_quality": {"min_doc_words": 100}, "sources": {"crawl": {"weight": 0.6},
                                                                                        "code": {"weight": 0.1}}}})
    assert plan.owner(cfg, "b", "tokens", "crawl") == "a"
    assert plan.owner(cfg, "b", "mix") == "b"
    assert any("crawl: reruns from filter" in line for line in plan.describe(cfg))
