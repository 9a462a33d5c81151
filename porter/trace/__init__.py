"""The trace route: models the rewriter cannot port are traced (torch.jit.trace) or read from ONNX by
X2Paddle, in a subprocess, and the result is judged by porter's parity check. See docs/trace-route.md."""
