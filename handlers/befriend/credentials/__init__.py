"""What proves who asks: signed tokens for people, API keys for machines, and the keyed
hashes befriend keeps instead of raw addresses."""
