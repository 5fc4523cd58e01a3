"""camdrift demo: the whole product on a simulated line."""
