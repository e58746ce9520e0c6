"""The pure domain: aggregates as decide/evolve functions. No I/O, no clock, no random."""
