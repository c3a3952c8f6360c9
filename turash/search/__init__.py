"""Search: full-text, typo-tolerant, faceted and spatial search over organisations, sites, flows and services."""
