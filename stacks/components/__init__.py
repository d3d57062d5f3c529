"""One ``roost:serving:ModelFleet`` component per deployment, built by a per-cloud module."""
