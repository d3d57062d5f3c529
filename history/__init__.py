"""roost's persistence: deployment logs (schema, validation, simulator, bundled sample)
and the store of applied stack versions. Imports placement; never pulumi or click."""
