"""Change events on the EventBridge bus: what changed about whom, never an address."""
