# Input functions of a recipe's rules (train.stages, issue 12: train.smk, evaluate.smk, report.smk);
# included by train.smk. Stage k trains from stage k-1's final checkpoint; lmsci.train.recipe holds the logic.
from lmsci.train import recipe as lmsci_recipe

STAGES = [st.name for st in CFG.train.stages]
FINAL_MODEL, FINAL_TRAIN = lmsci_recipe.final_model_train(CFG.model, CFG.train, CFG.seed, R)


def stage_dir(stage):
    return f"{R}/train/stages/{stage}"


def stage_inputs(wildcards):
    """The stage's blend and token files, and the previous stage's final checkpoint (its init_from)."""
    k = STAGES.index(wildcards.stage)
    out = {"blend": f"{R}/train/stages/{wildcards.stage}/blend.json", "tokens": token_files()}
    return out | ({"init": f"{stage_dir(STAGES[k - 1])}/checkpoint"} if k else {})


wildcard_constraints:
    stage="|".join(STAGES) or "(?!x)x",


def stage_cfg(wildcards):
    """The stage's own seed, model and train (lmsci.train.recipe.stage_slice): a change to another
    stage does not rerun this one."""
    return lmsci_recipe.stage_slice_json(CFG, wildcards.stage)


def stage_eval_cfg(wildcards):
    return lmsci_recipe.stage_slice_json(CFG, wildcards.stage, "evaluate")


def stage_mix_cfg(wildcards):
    return lmsci_recipe.stage_mix_json(CFG, wildcards.stage)


def stage_out_dir(wildcards, output):
    return os.path.dirname(output.summary)


def final_train_outputs(wildcards):
    """What publish_checkpoints mirrors: the last stage's run (its checkpoints/), or the single run's."""
    d = stage_dir(STAGES[-1]) if STAGES else f"{R}/train"
    return {"summary": f"{d}/train_summary.json", "checkpoint": f"{d}/checkpoint"}


def final_blend():
    """The manifest the final checkpoint was trained on (its seq_length): evaluation scores with it."""
    return f"{R}/train/stages/{STAGES[-1]}/blend.json" if STAGES else f"{R}/mix/blend.json"


def final_cfg(*keys):
    """cfg(*keys) with model and train those of the final checkpoint (the last stage's)."""
    import json

    data = json.loads(cfg(*keys))
    for key, section in (("model", FINAL_MODEL), ("train", FINAL_TRAIN)):
        if key in data:
            data[key] = lmsci_config.to_dict(section)
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def stage_eval_targets():
    return [f"{R}/eval/stages/{s}.json" for s in STAGES] + ([f"{R}/eval/stages/start.json"] if STAGES else [])
