"""Command handlers: one module per aggregate; each turns a command into a decision."""
