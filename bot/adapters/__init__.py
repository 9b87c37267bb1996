"""Platform adapters: each turns platform events into engine calls and engine actions into platform calls."""
