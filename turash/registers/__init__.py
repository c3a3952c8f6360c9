"""Public registers (Hotmaps, E-PRTR, chemical parks) turned into organisations, sites and flows."""
