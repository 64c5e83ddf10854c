"""Search indices: the interface and its backends."""
