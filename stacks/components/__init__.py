"""One ``roost:serving:ModelFleet`` component per deployment: the shared shape (fleet.py), its
outputs type (outputs.py), one subclass per cloud (aws.py, gcp.py, azure.py) and the registry
that picks the class for a cloud (registry.py)."""
