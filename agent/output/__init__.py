"""What the agent says: versioned events, local sinks, flagged-frame evidence."""
