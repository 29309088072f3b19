"""The runtime side: exported ONNX files loaded and run with ONNX Runtime. Never imports torch."""
