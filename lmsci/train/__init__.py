"""Training: megatron-core behind one adapter (``adapter.py``), a pure LR schedule and the loop."""
