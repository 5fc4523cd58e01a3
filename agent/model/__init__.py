"""The vision model beside the agent: ONNX runner and activation sampling."""
