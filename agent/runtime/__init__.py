"""The running agent: daemon lifecycle, pipeline, sampler, in-process agent, systemd notify."""
