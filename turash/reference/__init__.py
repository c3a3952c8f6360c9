"""Reference data: public registers and code lists (Hotmaps, E-PRTR, EWC, NACE), found locally or downloaded."""
