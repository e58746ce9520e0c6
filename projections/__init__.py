"""Projections: the runtime that consumes published events, and one module per projector."""
