"""The register: village profile, areas (dusun/RW/RT), families (KK), residents, officials."""
