"""Training: megatron-core behind one adapter package (``adapter/``), a pure LR schedule and the loop."""
