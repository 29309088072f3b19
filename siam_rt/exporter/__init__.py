"""Export of a trained checkpoint to ONNX files and a manifest (training side: needs torch)."""
