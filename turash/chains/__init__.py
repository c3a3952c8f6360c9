"""Multi-party chains: a supply that fits a demand only after a service (treatment, drying, a heat-pump lift,
transport, storage), the chain's economics with each party's share, small exchange cycles, and chain proposals
with the service provider as a party. See docs/chains.md."""
