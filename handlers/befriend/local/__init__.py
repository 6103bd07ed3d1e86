"""Running befriend on this machine: `befriend serve` against moto, and demo people."""
