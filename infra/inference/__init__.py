"""Inference adapters: Triton (cluster profile) and onnxruntime in process (embedded)."""
