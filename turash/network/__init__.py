"""The symbiosis network: organisations, sites, flows, services, matches and exchanges as a graph."""
