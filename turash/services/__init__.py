"""Services organisations offer to make exchanges possible: transport, treatment, storage, maintenance, consulting."""
