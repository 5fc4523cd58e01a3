"""What the vision model said about a frame: :class:`~camdrift.agent.predictions.outputs.ModelOutputs` (the
record the app hands over through the tap or in-process), and the flag an app or operator raises on a frame
(:class:`~camdrift.agent.predictions.flags.FlagNote`). numpy and the standard library only: the tap imports it."""
